// Runs WPT's URL parser data (the request's body) the way url-constructor.any.js does; answers the cases that fail.
export default {
  async fetch(request) {
    const cases = (await request.json()).filter((entry) => typeof entry !== "string");
    const failed = [];
    for (const expected of cases) {
      const base = expected.base !== null ? expected.base : undefined;
      let problem = null;
      try {
        if (expected.failure) {
          try {
            new URL(expected.input, base);
            problem = "parsed, but should fail";
          } catch (error) {
            if (!(error instanceof TypeError)) problem = `threw ${error?.constructor?.name}, not TypeError`;
          }
        } else {
          const url = new URL(expected.input, base);
          for (const key of ["href", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search"]) {
            if (url[key] !== expected[key]) problem ??= `${key} is ${JSON.stringify(url[key])}, not ${JSON.stringify(expected[key])}`;
          }
          if ("searchParams" in expected && url.searchParams.toString() !== expected.searchParams) {
            problem ??= `searchParams is ${JSON.stringify(url.searchParams.toString())}, not ${JSON.stringify(expected.searchParams)}`;
          }
          if (url.hash !== expected.hash) problem ??= `hash is ${JSON.stringify(url.hash)}, not ${JSON.stringify(expected.hash)}`;
        }
      } catch (error) {
        problem = `threw ${error}`;
      }
      if (problem) failed.push({ input: expected.input, base: expected.base, problem });
    }
    return Response.json({ cases: cases.length, passed: cases.length - failed.length, failed });
  },
};
