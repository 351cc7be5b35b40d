/** `cairn image umount`: see mount.ts. */
export { runUmount as run } from './mount.js';
