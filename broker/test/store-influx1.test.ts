import { afterAll, beforeAll, describe, it } from 'vitest';
import { openInflux1Store } from '../src/store/influx1.ts';
import { tempDir } from './helpers.ts';
import { HAS_INFLUXD, type Influxd, startInfluxd } from './influxd.ts';
import { storeContract } from './store-contract.ts';

if (!HAS_INFLUXD) {
  describe('Store contract: InfluxDB 1.x', () => {
    // A real-server test never skips: without influxd it fails and names the package (`npm test`
    // checks for it before any test runs, scripts/check-test-tools.mjs).
    it('needs /usr/bin/influxd', () => {
      throw new Error(
        'influxd missing: install the Debian package `influxdb` (sudo apt-get install -y influxdb)',
      );
    });
  });
} else {
  const tmp = tempDir('sg-influxd-');
  let influxd: Influxd;
  let n = 0;
  beforeAll(async () => {
    influxd = await startInfluxd(tmp.dir);
  }, 60_000);
  afterAll(async () => {
    await influxd?.stop();
    tmp.cleanup();
  });
  storeContract('InfluxDB 1.x (real influxd, `influx` package)', async () => {
    // A fresh database per test on the one server.
    const database = `contract_${process.pid}_${n++}`;
    const store = await openInflux1Store({ url: influxd.url, database });
    return {
      store,
      cleanup: async () => {
        await fetch(`${influxd.url}/query?q=${encodeURIComponent(`DROP DATABASE "${database}"`)}`, {
          method: 'POST',
        });
      },
    };
  });
}
