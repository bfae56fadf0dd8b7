"""The small library the behave steps stand on: an HTTP client that records every
exchange, target adapters, the catalogue of test videos, matchers and reporting."""
