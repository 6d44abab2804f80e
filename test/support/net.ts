import type http from 'node:http';

/** Closes a test server at once: its open connections too, so that close does not wait on keep-alive. */
export async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
