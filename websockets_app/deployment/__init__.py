"""Shipping a site to Lambda with Zappa: its stage, the deploy callbacks and what keeps the package small and working.

``stage_settings`` reads the stages of ``zappa_settings.json`` and holds the stage any site deploys with (what
``websocket_deploy_settings`` writes); ``zappa_hooks`` holds the callbacks that stage names by path (``settings``,
``zip``, ``post``); ``package_guard`` refuses to package a virtualenv of test tools, ``static_files`` a site whose
static files nothing would serve on Lambda, and ``package_slimming`` strips debug sections from the package's
compiled extensions. Zappa imports the callbacks itself, so nothing is imported here.
"""

__all__ = ("package_guard", "package_slimming", "stage_settings", "static_files", "zappa_hooks")
