"""gRPC edge: the `vfer.v1.ExpressionService` server, its client and `vfer stream`."""
