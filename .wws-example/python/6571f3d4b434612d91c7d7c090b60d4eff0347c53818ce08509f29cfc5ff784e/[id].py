# A route parameter (/python/users/42 → request.params["id"]), a helper module from a "_" folder, and the
# `class Default(WorkerEntrypoint)` style.
from _lib.users import describe_user
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response.json(describe_user(request.params["id"]))
