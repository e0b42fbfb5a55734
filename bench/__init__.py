"""``make bench``: latency, fan-out throughput, AWS calls, cold start and cost, against the
guide's ``publishUserEvent`` as a baseline. ``python -m bench`` runs everything; see README."""
