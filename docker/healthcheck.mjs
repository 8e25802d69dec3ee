// The app container's health probe (Dockerfile HEALTHCHECK and compose.yaml): exit 0 only when
// GET /readyz answers 200. Node, because the slim base image has no curl or wget; /readyz rather
// than /healthz, so a container whose index never loaded is reported unhealthy, not "healthy".
const port = process.env.PORT || '3000';
const token = process.env.API_TOKEN;
// With API_TOKEN set, /readyz needs the bearer token like every route but /healthz.
const headers = token ? { authorization: `Bearer ${token}` } : {};

try {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, {
    headers,
    // Below the healthcheck timeout, so a hung server is reported here, not killed silently.
    signal: AbortSignal.timeout(4000),
  });
  if (!response.ok) {
    // Docker keeps this output in `docker inspect`: the readyz body says what is missing.
    const body = (await response.text()).slice(0, 500);
    console.error(`/readyz answered ${response.status}: ${body}`);
    process.exit(1);
  }
  process.exit(0);
} catch (error) {
  console.error(`/readyz did not answer: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
