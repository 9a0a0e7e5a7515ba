"""One cold start, run as its own process by benchmarks/cold_start.py: import a handler, answer one event.

Usage: cold_process.py PACKAGE_DIR HANDLER EVENT_JSON. PACKAGE_DIR plays the root of the Lambda package (where
zappa_settings.py is); prints the answer, its status and the seconds spent importing and answering, as JSON.
"""

import json
import sys
import time
import types

start = time.perf_counter()
package_dir, handler_path, event_json = sys.argv[1:4]
sys.path[0] = package_dir
module_name, function_name = handler_path.rsplit(".", 1)
handler = getattr(__import__(module_name, fromlist=[function_name]), function_name)
imported = time.perf_counter()
context = types.SimpleNamespace(function_name="bench", aws_request_id="1", get_remaining_time_in_millis=lambda: 30000)
response = handler(json.loads(event_json), context)
done = time.perf_counter()
status = response.get("statusCode") if isinstance(response, dict) else None
print(json.dumps({"status": status, "response": response, "import": imported - start, "event": done - imported}))
