// The signed-in person's own account: change the password (every session of theirs ends, so
// they sign in again) and enrol a second factor (TOTP, RFC 6238) with its recovery codes. A
// person whose role must use one (auth.require_totp_for) is brought here right after sign-in:
// the server lets such a session do nothing else until the enrolment is confirmed.

import { state, $, t, esc, api, TEXT, whoText } from './core.js';

Object.assign(TEXT.zh, {
  account: '账户', change_password: '修改密码', current_password: '当前密码', new_password: '新密码',
  password_changed: '密码已修改，所有会话已结束，请重新登录。', second_factor: '双因素认证（动态验证码）',
  totp_enrol: '启用动态验证码', totp_scan: '在认证器应用中添加此密钥（或打开下面的链接），然后输入应用显示的 6 位验证码：',
  totp_confirm: '确认启用', totp_done: '动态验证码已启用；下次登录需要输入验证码。',
  totp_recovery_hint: '恢复码（每个只能使用一次，仅显示这一次，请妥善保存）：',
  totp_already: '已启用动态验证码；如需重置请联系管理员。',
  must_enrol: '您的角色要求使用动态验证码：请先完成启用，之后才能使用平台。',
});
Object.assign(TEXT.en, {
  account: 'Account', change_password: 'Change password', current_password: 'Current password', new_password: 'New password',
  password_changed: 'Password changed; every session has ended. Please sign in again.', second_factor: 'Second factor (one-time codes)',
  totp_enrol: 'Enrol one-time codes', totp_scan: 'Add this secret to your authenticator app (or open the link below), then enter the 6-digit code it shows:',
  totp_confirm: 'Confirm', totp_done: 'One-time codes are on; the next sign-in asks for one.',
  totp_recovery_hint: 'Recovery codes (each works once; shown only now, keep them safe):',
  totp_already: 'One-time codes are on already; an admin can reset them.',
  must_enrol: 'Your role signs in with a second factor: enrol one before using the platform.',
});

function say(text, ok = false) {
  $('#account-message').textContent = text;
  $('#account-message').classList.toggle('ok', ok);
}

export function openAccount() {
  $('#account-who').textContent = whoText(state.who);
  $('#account-must-enrol').hidden = !(state.who && state.who.must_enrol_second_factor);
  $('#totp-setup').hidden = true;
  $('#totp-recovery').hidden = true;
  $('#totp-start').hidden = false;
  say('');
  $('#account').hidden = false;
}

function closeAccount() {
  $('#account').hidden = true;
  $('#current-password').value = '';
  $('#new-password').value = '';
  $('#totp-code').value = '';
}

// `afterPasswordChange`: the page's sign-out (the server ended the session already);
// `afterEnrol`: how the page goes on once a required second factor is in force.
export function initAccount({ afterPasswordChange, afterEnrol }) {
  $('#account-open').addEventListener('click', openAccount);
  $('#account-close').addEventListener('click', () => {
    if (state.who && state.who.must_enrol_second_factor) return;  // nothing else works yet
    closeAccount();
  });
  $('#password-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', '/api/v1/session/password', {
        current_password: $('#current-password').value, new_password: $('#new-password').value,
      });
      closeAccount();
      await afterPasswordChange();
      $('#signin-error').textContent = t('password_changed');
    } catch (e) { say(e.message); }
  });
  $('#totp-start').addEventListener('click', async () => {
    try {
      const begun = await api('POST', '/api/v1/session/totp');
      $('#totp-secret').textContent = begun.secret.replace(/(.{4})/g, '$1 ').trim();
      $('#totp-secret').dataset.secret = begun.secret;
      $('#totp-uri').innerHTML = `<a href="${esc(begun.otpauth_uri)}">${esc(begun.otpauth_uri)}</a>`;
      $('#totp-setup').hidden = false;
      $('#totp-start').hidden = true;
      $('#totp-code').focus();
      say('');
    } catch (e) { say(e.status === 409 ? t('totp_already') : e.message); }
  });
  $('#totp-confirm').addEventListener('click', async () => {
    try {
      const done = await api('POST', '/api/v1/session/totp/confirm', { code: $('#totp-code').value.trim() });
      $('#totp-setup').hidden = true;
      $('#totp-recovery-codes').innerHTML = (done.recovery_codes || []).map((c) => `<li>${esc(c)}</li>`).join('');
      $('#totp-recovery').hidden = false;
      say(t('totp_done'), true);
      if (state.who && state.who.must_enrol_second_factor) {
        state.who.must_enrol_second_factor = false;
        $('#account-must-enrol').hidden = true;
        await afterEnrol();
      }
    } catch (e) { say(e.message); }
  });
}
