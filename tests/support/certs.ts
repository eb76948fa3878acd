/**
 * Certificates made at test time with openssl: a CA, server certificates signed by it
 * (for pbx.test and 127.0.0.1; for another name; expired), and a self-signed one.
 * Absent openssl, `opensslMissing` says why and the TLS tests skip saying so.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./vipless-process.ts";

export function opensslMissing(): string | null {
  const r = spawnSync("openssl", ["version"], { encoding: "utf8" });
  return r.error ? `openssl not found (${r.error.message}); apt-get install openssl` : null;
}

export interface Pem {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

export interface TestCerts {
  dir: string;
  ca: string;
  caPath: string;
  /** For pbx.test, localhost and 127.0.0.1/::1, signed by the CA. */
  server: Pem;
  /** The same names, another key and serial: what a reload brings. */
  renewed: Pem;
  /** For other.test only. */
  wrongName: Pem;
  /** Signed by the CA, valid until yesterday. */
  expired: Pem;
  /** Signed by itself, names as `server`. */
  selfSigned: Pem;
}

function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export function makeCerts(): TestCerts {
  const dir = tempDir();
  openssl(
    dir,
    "req",
    "-x509",
    ...KEY,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=vipless test CA",
  );
  const signed = (name: string, names: string, days: string): Pem => {
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${names}\n`);
    openssl(
      dir,
      "req",
      ...KEY,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    );
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      days,
      "-extfile",
      `${name}.ext`,
    );
    return read(name);
  };
  const read = (name: string): Pem => ({
    cert: readFileSync(join(dir, `${name}.pem`), "utf8"),
    key: readFileSync(join(dir, `${name}.key`), "utf8"),
    certPath: join(dir, `${name}.pem`),
    keyPath: join(dir, `${name}.key`),
  });
  const names = "DNS:pbx.test,DNS:localhost,IP:127.0.0.1,IP:::1";
  const server = signed("server", names, "2");
  const renewed = signed("renewed", names, "2");
  const wrongName = signed("wrong", "DNS:other.test", "2");
  const expired = signed("expired", names, "-1");
  writeFileSync(join(dir, "self.ext"), `subjectAltName=${names}\n`);
  openssl(
    dir,
    "req",
    "-x509",
    ...KEY,
    "-keyout",
    "self.key",
    "-out",
    "self.pem",
    "-days",
    "2",
    "-subj",
    "/CN=pbx.test",
    "-addext",
    `subjectAltName=${names}`,
  );
  return {
    dir,
    ca: readFileSync(join(dir, "ca.pem"), "utf8"),
    caPath: join(dir, "ca.pem"),
    server,
    renewed,
    wrongName,
    expired,
    selfSigned: read("self"),
  };
}
