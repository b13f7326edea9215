// URL parsing of tricky inputs, absolute and relative.
const INPUTS = [
  ["https://user:pw@Example.COM:8443/a/./b/../c?x=1&y=%20#frag"],
  ["http://h:80/"], ["https://h:443/p"], ["http://h:0080/"], ["HTTP://H/%7e"], ["http://h/a b/ü?q=ü#ü"],
  ["http://bücher.de/"], ["http://0x7f.1/"], ["http://127.1/"], ["http://[::1]:8080/"], ["http://[2001:db8:0:0:0:0:0:1]/"],
  ["http://h\\a\\b"], ["http:/h/x"], ["http:h/x"], ["mailto:someone@example.com"], ["data:text/plain,hi"],
  ["http://h?q=a'b"], ["http://h/%2e%2E/x"], ["http://h/a/%2e/b"], ["file:///etc/passwd"], ["ws://h:80/x"],
  ["not a url"], ["http://"], ["http://h:99999/"], ["http://[::1/"], ["http://a b/"],
  ["../d?z", "http://h/a/b/c?q#f"], ["/e", "http://h/a/b/c"], ["?y", "http://h/a/b/c?q"], ["#g", "http://h/a?q"],
  ["", "http://h/a?q#f"], ["//other/x", "https://h/a"], ["g;x", "http://h/a/b/c"], ["../../../../up", "http://h/a/b"],
  ["http:g", "http://h/a/b"], ["./", "http://h/a/b"],
];
export default {
  async fetch() {
    return Response.json(INPUTS.map(([input, base]) => {
      try {
        const u = new URL(input, base);
        return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash];
      } catch (error) {
        return error.name;
      }
    }));
  },
};
