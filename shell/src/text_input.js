// [SECTION] Text entry beyond SDL: OS paste and input methods (CJK typing). SDL hears keys on the
// wrapper, so they reach it from the canvas and from `ime`, a textarea that holds the focus while
// ImGui edits text and is placed over the field, where the input method shows its composition.
// Composed and pasted text goes to the field through _pm_insert_text.
import { el } from './util.js';

// Returns placeTextInput(visible, x, y, lineHeight), the module's polymarkTextInputArea.
export function createTextInput(ctx, wrapper, canvas) {
  const ime = el('textarea', 'position:absolute;left:0;top:0;width:1px;height:1px;padding:0 2px;margin:0;border:0;outline:1px solid #4f9cf9;resize:none;overflow:hidden;white-space:pre;opacity:0;z-index:1;pointer-events:none;color:#fff;background:#1d1f22;font:15px system-ui,sans-serif;');
  ime.setAttribute('autocomplete', 'off');
  ime.setAttribute('autocorrect', 'off');
  ime.setAttribute('autocapitalize', 'off');
  ime.setAttribute('spellcheck', 'false');
  ime.setAttribute('aria-label', 'Polymark text entry');
  ime.id = 'polymark-ime-' + ctx.id;
  wrapper.appendChild(ime);
  let composing = false;

  // Canvas focus: SDL cancels mousedown's default, so a click would never focus the canvas.
  // While a text field is edited the focus stays on the input-method element.
  ctx.listen(canvas, 'pointerdown', () => {
    if (document.activeElement !== canvas && document.activeElement !== ime) canvas.focus({ preventScroll: true });
  });

  function insertText(text) {
    const M = ctx.M;
    if (!text || !M) return;
    const size = M.lengthBytesUTF8(text) + 1;
    const ptr = M._malloc(size);
    M.stringToUTF8(text, ptr, size);
    M._pm_insert_text(ptr);
    M._free(ptr);
  }
  function showComposition(on) {
    composing = on;
    ime.style.opacity = on ? '1' : '0';
    ime.style.width = on ? Math.max(4, ime.scrollWidth + 4) + 'px' : '1px';
  }
  function placeTextInput(visible, x, y, lineHeight) {
    if (visible) {
      ime.style.left = x + 'px';
      ime.style.top = y + 'px';
      ime.style.height = Math.max(1, lineHeight) + 'px';
      ime.style.lineHeight = Math.max(1, lineHeight) + 'px';
      if (document.activeElement === canvas) ime.focus({ preventScroll: true });
    } else {
      if (composing) { ime.value = ''; showComposition(false); }
      if (document.activeElement === ime) canvas.focus({ preventScroll: true });
    }
  }
  const wantsText = () => ctx.M && ctx.M._pm_wants_text();
  ctx.listen(wrapper, 'keydown', (e) => {
    // Keys that belong to a composition are the input method's, not SDL's (which would cancel
    // Backspace and arrows); Ctrl+V is left to the browser so that its paste event brings the text.
    const paste = (e.ctrlKey || e.metaKey) && (e.key === 'v' || e.key === 'V');
    if (e.isComposing || e.keyCode === 229 || (paste && wantsText())) e.stopImmediatePropagation();
  }, true);
  ctx.listen(wrapper, 'paste', (e) => {
    if (!wantsText()) return;
    e.preventDefault();
    insertText((e.clipboardData && e.clipboardData.getData('text/plain')) || '');
  });
  ctx.listen(ime, 'compositionstart', () => showComposition(true));
  ctx.listen(ime, 'compositionupdate', () => setTimeout(() => { if (composing) showComposition(true); }));
  ctx.listen(ime, 'compositionend', (e) => {
    const text = ime.value || e.data || '';
    ime.value = '';
    showComposition(false);
    insertText(text);
  });
  // Text that arrives without key events (virtual keyboards, emoji pickers, dictation).
  ctx.listen(ime, 'input', (e) => {
    if (composing || e.isComposing || !ime.value) return;
    const text = ime.value;
    ime.value = '';
    insertText(text);
  });
  return placeTextInput;
}
