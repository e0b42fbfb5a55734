"""The local stack: everything ``hc-realtime dev`` runs on one machine, no AWS account."""
