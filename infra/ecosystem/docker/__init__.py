"""The Docker provider, cut along its responsibilities."""
