"""vfer: video facial-expression recognition (Saurav et al. 2020), the shared core.

This package imports no web, queue or RPC library; the service, worker and gRPC server wrap it.
"""

__version__ = "0.1.0"
