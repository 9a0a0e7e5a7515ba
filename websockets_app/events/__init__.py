"""The Lambda event path: an API Gateway event in, through apig-wsgi and Django, its answer out."""
