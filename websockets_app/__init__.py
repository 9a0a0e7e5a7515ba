"""WebSockets for Django sites served from AWS Lambda through API Gateway WebSocket APIs."""
