"""A local stand-in for API Gateway WebSocket APIs, served by ``python manage.py runserver``.

It turns browser traffic into the same AWS-shaped events API Gateway sends and hands them to the project's
``lambda_handler``, so the app cannot tell whether it runs locally or on AWS. Modules: ``limits`` (AWS's quotas),
``route_selection`` (the API's route selection expression), ``aws_events`` (ASGI -> AWS event shapes),
``connections`` (live connections), ``management_api`` (``@connections``), ``app`` (the ASGI application) and
``server`` (uvicorn, and pointing the app's settings at the emulator).
"""
