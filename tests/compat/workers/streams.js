// Streams as Cloudflare's docs use them: a ReadableStream as a response body, a TransformStream written from
// waitUntil(), the request body piped through transforms, read with a reader, and teed.
const encoder = new TextEncoder();

async function drain(stream) {
  const reader = stream.getReader();
  let text = "";
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

export default {
  async fetch(request, env, ctx) {
    const route = new URL(request.url).pathname.split("/")[2];
    if (route === "readable") {
      const stream = new ReadableStream({
        start(controller) {
          controller.enqueue(encoder.encode("one, "));
          controller.enqueue(encoder.encode("two"));
          controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/plain" } });
    }
    if (route === "pull") {
      let count = 0;
      const stream = new ReadableStream({
        pull(controller) {
          count += 1;
          if (count > 3) controller.close();
          else controller.enqueue(encoder.encode(`chunk ${count}\n`));
        },
      });
      return new Response(stream);
    }
    if (route === "transform") {
      const { readable, writable } = new TransformStream();
      const writer = writable.getWriter();
      ctx.waitUntil(
        (async () => {
          for (const word of ["streamed ", "from ", "waitUntil"]) await writer.write(encoder.encode(word));
          await writer.close();
        })(),
      );
      return new Response(readable, { headers: { "content-type": "text/plain" } });
    }
    if (route === "upper") {
      const upper = new TransformStream({
        transform(chunk, controller) {
          controller.enqueue(chunk.toUpperCase());
        },
      });
      const body = request.body.pipeThrough(new TextDecoderStream()).pipeThrough(upper).pipeThrough(new TextEncoderStream());
      return new Response(body, { headers: { "content-type": "text/plain" } });
    }
    if (route === "reader") {
      const isStream = request.body instanceof ReadableStream;
      const same = request.body === request.body;
      const text = await drain(request.body);
      let again = "no error";
      try {
        await request.text();
      } catch (error) {
        again = error.constructor.name;
      }
      return Response.json({ isStream, same, text, bodyUsed: request.bodyUsed, again });
    }
    if (route === "tee") {
      const [left, right] = request.body.tee();
      const [a, b] = await Promise.all([drain(left), drain(right)]);
      return Response.json({ a, b, locked: request.body.locked });
    }
    if (route === "clone") {
      const copy = request.clone();
      return Response.json({ original: await request.text(), copy: await copy.text() });
    }
    if (route === "pipe") {
      const chunks = [];
      const sink = new WritableStream({
        write(chunk) {
          chunks.push(new TextDecoder().decode(chunk));
        },
      });
      await request.body.pipeTo(sink);
      return Response.json({ text: chunks.join(""), locked: request.body.locked });
    }
    if (route === "error") {
      const stream = new ReadableStream({
        start(controller) {
          controller.error(new Error("broken source"));
        },
      });
      try {
        await new Response(stream).text();
        return new Response("no error");
      } catch (error) {
        return new Response(`${error.constructor.name}: ${error.message}`);
      }
    }
    return new Response("unknown route", { status: 404 });
  },
};
