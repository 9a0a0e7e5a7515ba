"""Shipping a site to Lambda with Zappa: the deploy callbacks and what keeps the package small.

``zappa_hooks`` holds the callbacks ``zappa_settings.json`` names by path (``settings``, ``zip``, ``post``);
``package_guard`` refuses to package a virtualenv of test tools, ``package_slimming`` strips debug sections from the
package's compiled extensions. Zappa imports the callbacks itself, so nothing is imported here.
"""

__all__ = ("package_guard", "package_slimming", "zappa_hooks")
