# State that outlives a request: the `kv` object reads and writes this worker's KV namespace (see counter.toml).
import json


def worker(request):
    visits = int(kv.get("python-visits") or 0) + 1
    kv.put("python-visits", str(visits))
    return Response(json.dumps({"visits": visits}), headers={"content-type": "application/json"})
