/** undici's own files, imported one by one (src/http/undici-client.ts types them). */
declare module 'undici/lib/*.js' {
  const exported: unknown;
  export default exported;
}
