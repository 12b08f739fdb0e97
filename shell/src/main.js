// Polymark embedding API: Polymark.mount(element, options) -> Promise<instance>. The contract is
// docs/API.md. The build bundles these modules into one classic script, dist/polymark.js, that
// defines window.Polymark (tools/bundle_shell.mjs); embedders load it with one <script> tag.
import { PolymarkError } from './util.js';
import { EVENTS } from './events.js';
import { mount } from './mount.js';
import { unregisterOffline } from './offline.js';

window.Polymark = { mount, unregisterOffline, PolymarkError, events: EVENTS.slice(), version: '0.1.0' };
