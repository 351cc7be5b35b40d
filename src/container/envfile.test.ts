/**
 * `-e`, `--env-file`, `--label`, `--label-file` as docker 20.10.24 read them: the entries it
 * put in Config.Env and Config.Labels, and the messages it printed (`docker: MSG.`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kvToMap, openFileErrorMessage, parseEnvFile, parseLabelFile, validateEnv, validateLabel } from './envfile.js';

function throwsMessage(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof Error && e.message === message, message);
}

const env = (vars: Record<string, string>) => (name: string): string | undefined => vars[name];

describe('envfile', () => {
  it('reads an env file as Docker does', () => {
    // HOME=/home/x docker create --env-file F: Config.Env ["E3=\"quoted\"","E4=tab","E5=a=b", ...]
    assert.deepEqual(parseEnvFile('envf3', 'E3="quoted"\n\tE4=tab\nE5=a=b\n', env({})), ['E3="quoted"', 'E4=tab', 'E5=a=b']);
    const text = 'A=1\n# comment\n\n   B=2\nHOME\nNOPE\nC= spaced value \n';
    assert.deepEqual(parseEnvFile('f', text, env({ HOME: '/home/x' })), ['A=1', 'B=2', 'HOME=/home/x', 'C= spaced value ']);
    // A BOM, CRLF line ends, a last line without a newline.
    assert.deepEqual(parseEnvFile('envbom', Buffer.from('\xef\xbb\xbfX=1\r\nY=2', 'latin1'), env({})), ['X=1', 'Y=2']);
    assert.deepEqual(parseEnvFile('f', '#only\n\n', env({})), []);
    assert.deepEqual(parseEnvFile('f', '', env({})), []);
  });

  it("gives Docker's messages for a bad env file", () => {
    throwsMessage(() => parseEnvFile('envf', 'A=1\nD E=3\n', env({})), "poorly formatted environment: variable 'D E' contains whitespaces");
    throwsMessage(() => parseEnvFile('envspace', ' \tK = v\n', env({})), "poorly formatted environment: variable 'K ' contains whitespaces");
    throwsMessage(() => parseEnvFile('envnoname', '=novar\n', env({})), "poorly formatted environment: no variable name on line '=novar'");
    throwsMessage(() => parseEnvFile('envutf', Buffer.from('bad\xffbyte=1\n', 'latin1'), env({})), 'env file envutf contains invalid utf8 bytes at line 1: [98 97 100 255 98 121 116 101 61 49]');
    throwsMessage(() => parseEnvFile('long', `A=${'x'.repeat(70000)}\n`, env({})), 'bufio.Scanner: token too long');
    assert.equal(openFileErrorMessage('nosuch', 'ENOENT'), 'open nosuch: no such file or directory');
    assert.equal(openFileErrorMessage('/root/x', 'EACCES'), 'open /root/x: permission denied');
  });

  it('reads a label file: KEY lines alone are dropped, messages are the env file ones', () => {
    // docker create --label-file labf2 --label lc --label ' ld=x' --label la=override: {" ld":"x","la":"override","lc":""}
    const labels = [...parseLabelFile('labf2', 'la=1\n# c\nlb\n'), 'lc', ' ld=x', 'la=override'];
    assert.deepEqual(kvToMap(labels), { la: 'override', lc: '', ' ld': 'x' });
    throwsMessage(() => parseLabelFile('labf', 'lab.a=1\nlab b\n'), "poorly formatted environment: variable 'lab b' contains whitespaces");
  });

  it('checks -e and --label values', () => {
    assert.equal(validateEnv('A=1', env({})), 'A=1');
    assert.equal(validateEnv('A B=1', env({})), 'A B=1');
    assert.equal(validateEnv('HOME', env({ HOME: '/home/x' })), 'HOME=/home/x');
    assert.equal(validateEnv('NOSUCHVAR_RF', env({})), 'NOSUCHVAR_RF');
    throwsMessage(() => validateEnv('=x', env({})), 'invalid environment variable: =x');
    throwsMessage(() => validateEnv('', env({})), 'invalid environment variable: ');
    assert.equal(validateLabel(' k=1'), ' k=1');
    assert.equal(validateLabel('k'), 'k');
    throwsMessage(() => validateLabel('=x'), "invalid label '=x': empty name");
    throwsMessage(() => validateLabel('a b=1'), "label 'a b' contains whitespaces");
  });
});
