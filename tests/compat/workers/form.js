// Request bodies: form data, JSON, bytes.
export default {
  async fetch(request) {
    const type = request.headers.get("content-type") || "";
    if (type.startsWith("application/x-www-form-urlencoded")) {
      const form = await request.formData();
      return Response.json({ form: [...form], a: form.getAll("a") });
    }
    if (type.startsWith("application/json")) {
      return Response.json({ json: await request.json() });
    }
    const bytes = new Uint8Array(await request.arrayBuffer());
    return Response.json({ length: bytes.length, first: Array.from(bytes.slice(0, 4)), used: request.bodyUsed });
  },
};
