import { startArbor } from './server';

// One server for the whole run (target/leptos/debug/server, built by
// `cargo leptos build`); its URL reaches the tests through ARBOR_URL.
export default async function globalSetup(): Promise<() => Promise<void>> {
  const arbor = await startArbor();
  process.env.ARBOR_URL = arbor.url;
  process.env.ARBOR_SESSION = arbor.session;
  return () => arbor.stop();
}
