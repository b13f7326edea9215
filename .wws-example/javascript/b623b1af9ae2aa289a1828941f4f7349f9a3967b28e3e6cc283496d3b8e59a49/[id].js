// A route parameter: /js/users/42 gives request.params.id = "42" (and the path, as in Workers).
import { describeUser } from "./_lib/users.js";

export default {
  async fetch(request) {
    return Response.json(describeUser(request.params.id));
  },
};
