"""Capacity: how many viewers at once each target holds before playback stalls
(`python -m infra.measure.capacity`). A ramp of Locust viewers (`infra.suite.crowd`) per
target, warm and cold, in one ecosystem, side by side; the knee, the latency at ¼, ½, ¾
and all of it, the backend's CPU and peak RSS and the load generator's own CPU, printed
as a table and written as JSON and a PNG chart.
"""
