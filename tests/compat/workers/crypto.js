// crypto.subtle and node:buffer as Cloudflare's docs use them: hashing a body, signing and verifying with HMAC
// (the "Sign requests" example), timingSafeEqual for secrets, and Buffer's encodings.
import { Buffer } from "node:buffer";

const encoder = new TextEncoder();

function hex(buffer) {
  return [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export default {
  async fetch(request) {
    const route = new URL(request.url).pathname.split("/")[2];
    if (route === "digest") {
      const data = encoder.encode(await request.text());
      const digests = {};
      for (const name of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) digests[name] = hex(await crypto.subtle.digest(name, data));
      digests.object = hex(await crypto.subtle.digest({ name: "SHA-256" }, data.buffer));
      return Response.json(digests);
    }
    if (route === "hmac") {
      const key = await crypto.subtle.importKey("raw", encoder.encode("my secret key"), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
      const message = encoder.encode(await request.text());
      const mac = await crypto.subtle.sign("HMAC", key, message);
      const base64 = btoa(String.fromCharCode(...new Uint8Array(mac)));
      const good = await crypto.subtle.verify("HMAC", key, mac, message);
      const tampered = await crypto.subtle.verify("HMAC", key, mac, encoder.encode("other"));
      const jwk = await crypto.subtle.importKey("jwk", { kty: "oct", k: "c2VjcmV0", alg: "HS512" }, { name: "HMAC", hash: { name: "SHA-512" } }, true, ["sign"]);
      const exported = await crypto.subtle.exportKey("raw", jwk);
      return Response.json({
        mac: base64, good, tampered, algorithm: key.algorithm, usages: key.usages, type: key.type,
        extractable: key.extractable, jwkLength: jwk.algorithm.length, exported: hex(exported),
        jwkMac: hex(await crypto.subtle.sign({ name: "HMAC" }, jwk, message)),
      });
    }
    if (route === "equal") {
      const secret = encoder.encode("s3cr3t-token");
      const given = encoder.encode(request.headers.get("x-token") ?? "");
      const equal = given.byteLength === secret.byteLength && crypto.subtle.timingSafeEqual(given, secret);
      let mismatch = null;
      try {
        crypto.subtle.timingSafeEqual(encoder.encode("a"), encoder.encode("ab"));
      } catch (error) {
        mismatch = error.constructor.name;
      }
      return Response.json({ equal, mismatch });
    }
    if (route === "buffer") {
      const text = "héllo wörld";
      const buffer = Buffer.from(text);
      const fromBase64 = Buffer.from("aMOpbGxv", "base64");
      const joined = Buffer.concat([Buffer.from("ab"), Buffer.from([99, 100])]);
      const numbers = Buffer.alloc(8);
      numbers.writeUInt32BE(0xdeadbeef, 0);
      numbers.writeInt16LE(-2, 4);
      return Response.json({
        length: buffer.length, byteLength: Buffer.byteLength(text), hex: buffer.toString("hex"),
        base64: buffer.toString("base64"), base64url: Buffer.from([251, 255, 191]).toString("base64url"),
        latin1: Buffer.from("ÿa", "latin1").toString("hex"), utf16: Buffer.from("hi", "utf16le").toString("hex"),
        fromBase64: fromBase64.toString(), fromHex: Buffer.from("68656c6c6f", "hex").toString("utf8"),
        joined: joined.toString(), isBuffer: [Buffer.isBuffer(joined), Buffer.isBuffer(new Uint8Array(1))],
        uint8: joined instanceof Uint8Array, sliced: buffer.slice(0, 5).toString(), json: Buffer.from("ab").toJSON(),
        numbers: [...numbers], read: [numbers.readUInt32BE(0), numbers.readInt16LE(4), numbers.readUInt8(0)],
        equals: Buffer.from("x").equals(Buffer.from("x")), compare: Buffer.compare(Buffer.from("a"), Buffer.from("b")),
        index: [buffer.indexOf("wö"), buffer.includes("llo"), buffer.indexOf(0x6c)], filled: Buffer.alloc(5, "ab").toString(),
        written: (() => { const b = Buffer.alloc(4); return [b.write("hi", 1), [...b]]; })(),
        hashed: hex(await crypto.subtle.digest("SHA-256", buffer)),
      });
    }
    return new Response("unknown route", { status: 404 });
  },
};
