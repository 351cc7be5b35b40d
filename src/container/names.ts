/**
 * Names for containers created without `--name`: `adjective_surname`, as Docker makes them
 * (its own word lists are not copied; these are cairn's), retried until free.
 */
import { randomInt } from '../random.js';

const ADJECTIVES = [
  'agile', 'amber', 'bold', 'brave', 'bright', 'calm', 'clever', 'cosy', 'crisp', 'daring', 'eager', 'earnest', 'fervent',
  'festive', 'fond', 'gentle', 'glad', 'happy', 'hardy', 'honest', 'humble', 'jolly', 'keen', 'kind', 'lively', 'lucid',
  'merry', 'modest', 'nimble', 'noble', 'patient', 'placid', 'plucky', 'proud', 'quiet', 'quirky', 'rapid', 'serene',
  'sharp', 'silent', 'steady', 'sturdy', 'swift', 'tender', 'tidy', 'trusty', 'vivid', 'wise', 'witty', 'zealous',
];

const SURNAMES = [
  'agnesi', 'babbage', 'bardeen', 'bohr', 'boole', 'cannon', 'cerf', 'curie', 'dijkstra', 'einstein', 'euler', 'faraday',
  'fermat', 'fermi', 'feynman', 'franklin', 'gauss', 'goodall', 'hamilton', 'hopper', 'hypatia', 'johnson', 'kepler',
  'knuth', 'lamarr', 'lamport', 'liskov', 'lovelace', 'maxwell', 'meitner', 'mirzakhani', 'newton', 'noether', 'pascal',
  'planck', 'ramanujan', 'ritchie', 'shannon', 'somerville', 'thompson', 'torvalds', 'turing', 'volta', 'wilson', 'wozniak',
];

/** A random name `taken` does not refuse (a digit is appended after many collisions, as Docker does). */
export function randomName(taken: (name: string) => boolean): string {
  for (let i = 0; ; i++) {
    let name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
    if (i >= 10) name += String(randomInt(10));
    if (!taken(name)) return name;
  }
}
