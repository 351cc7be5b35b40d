/** `cairn logout [SERVER]`: see login.ts. */
export { runLogout as run } from './login.js';
