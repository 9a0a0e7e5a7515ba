"""Send backends: how one message reaches many connections through API Gateway's ``@connections`` API."""
