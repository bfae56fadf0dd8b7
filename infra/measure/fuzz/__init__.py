"""Hostile input against a target, measured: `grammar` (what to send, as Hypothesis
strategies), `raw` (clients below what requests allows), `invariants` (what every answer
must still be), `procstat` (RSS and fds of the service), `campaign` (one run, its
figures); `python -m infra.measure.fuzz` prints them."""
