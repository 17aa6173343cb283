"""Clients of the service: `vfer stream` over gRPC or the WebSocket, and the Python clients behind
it. Apart from the gateway, which never decodes a video: these read and encode the file they send."""
