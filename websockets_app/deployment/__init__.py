"""Shipping a site to Lambda with Zappa: the deploy callbacks and what keeps the package small."""
