"""Crowds of viewers, played by Locust: the suite's capacity scenarios and the capacity
command (`python -m infra.measure.capacity`) both stand on this package.

A viewer is a Locust user (`locustfile.py`) that plays the video as a browser's media
stack plays a progressive file (`model.py`), checks every byte against a table of chunk
digests of the source (`digests.py`) and sends a tally per load level to the master
(Locust's own messages, so workers on other machines need no other channel). A stepped
ramp (a `LoadTestShape`) holds each level of the `Plan` (`plan.py`); `knee.py` judges the
levels and finds the knee. Locust monkey-patches the standard library with gevent, so it
runs only in processes of its own (`launch.py`); nothing else here imports it.
"""
