// Shared by every part of the dashboard: constants, bilingual text, the one state object,
// small formatting helpers and the REST call. Imports nothing.

export const LEVELS = ['red', 'orange', 'yellow', 'blue'];
export const STATUSES = ['open', 'acknowledged', 'handling', 'resolved', 'closed'];
export const CLOSE_REASONS = ['false_alarm', 'device_fault', 'test', 'duplicate'];

export const TEXT = {
  zh: {
    app_title: '城市安全风险监测预警平台', login: '账号', password: '密码', one_time_code: '动态验证码', sign_in: '登录', sign_out: '退出',
    key_hint: '登录后会话保存在仅服务器可读的 Cookie 中；密码不会出现在地址栏。', bad_key: '账号或密码错误', code_needed: '请输入身份验证器中的 6 位动态码', whole_city: '全市', comment: '备注', assign: '认领', assignee: '负责人', evidence: '视频证据', snapshot: '现场截图', clip: '视频片段', camera: '摄像机', commented: '备注', assigned: '指派',
    live_alarms: '实时告警', site_map: '监测点位图', alarm_detail: '告警详情', sensor_chart: '传感器曲线',
    clear_filters: '清除筛选', no_alarms: '当前没有符合条件的告警', pick_alarm: '点击列表中的告警查看详情',
    pick_alarm_chart: '选择告警后显示该传感器最近一小时曲线',
    col_level: '等级', col_title: '告警', col_site: '点位', col_value: '数值', col_status: '状态', col_time: '时间',
    cat_process: '过程告警', cat_device: '设备告警（故障/离线）', cat_fault: '故障', cat_offline: '离线', in_fault: '故障传感器', site_alarm: '点位组合告警', members: '关联告警', all_levels: '全部等级', all_domains: '全部行业', all_districts: '全部辖区',
    red: '红色', orange: '橙色', yellow: '黄色', blue: '蓝色',
    open: '待确认', acknowledged: '已确认', handling: '处置中', resolved: '已解决', closed: '已关闭',
    active: '持续', cleared: '已恢复', unknown: '未知',
    acknowledge: '确认', handle: '处置', resolve: '解决', close: '关闭', note: '备注', reason: '关闭原因',
    no_reason: '（无）', false_alarm: '误报', device_fault: '设备故障', test: '测试', duplicate: '重复',
    rule: '规则', sensor: '传感器', site: '点位', district: '辖区', value: '当前值', peak: '峰值',
    first: '首次', last: '最近', count: '次数', advice: '处置建议', timeline: '处置记录', done: '已提交',
    offline: '离线传感器', live: '实时', connecting: '连接中', disconnected: '已断开', sound_on: '声音：开',
    sound_off: '声音：关', no_data: '最近一小时无数据', thresholds: '阈值', new_red: '新的红色告警',
    raised: '触发', escalated: '升级', deescalated: '降级', reactivated: '再次触发',
    inhibited: '归并', released: '解除归并', part_of: '归入组合告警',
    coverage: '监测覆盖', cov_covered: '项已覆盖', cov_unwatched: '必备项无在线传感器：', cov_ok: '正常',
    cov_in_alarm: '报警中', cov_offline: '离线', cov_fault: '故障', cov_no_sensor: '未配置传感器',
    notified: '已通知', escalated_to: '逐级上报', disposal_overdue: '超时未处置', silenced: '已静默', unsilenced: '静默结束',
    enterprise: '企业', sector: '行业主管部门', city: '市级', notification: '通知与升级', told: '已通知层级', ack_due: '确认时限',
    dispose_due: '处置时限', overdue: '超时', left: '剩余', none_told: '尚未通知', signs_in: '平台用户：可登录处置', deliveries: '推送记录',
    pending: '待发送', delivered: '已送达', failed: '发送失败', responsible: '责任单位与联系人', no_unit: '未登记责任单位',
    phone: '电话', silences: '静默与维护窗口', no_silences: '当前没有静默', new_silence: '新建静默',
    duration_min: '时长（分钟）', silence_reason: '原因', create: '创建', end_silence: '提前结束', owner: '创建人',
    until: '至', matchers: '范围', silence_site: '静默此点位', kind_raised: '新报警', kind_level_up: '升级',
    kind_escalated: '上报', kind_reminder: '提醒', kind_cleared: '解除', kind_closed: '关闭',
    cockpit: '领导驾驶舱', sensors: '个传感器', site_file: '点位档案', last_30_days: '近30天', raised_alarms: '报警数',
    ack_median_long: '签收用时中位数', disposal_rate_long: '按时处置率', sensors_long: '传感器', open_alarms_long: '未关闭报警', recent_alarms: '最近报警', close_panel: '关闭', layer_sensors: '传感器', layer_resources: '应急资源', zoom_in: '放大', zoom_out: '缩小', zoom_reset: '全图',
    res_team: '救援队伍', res_warehouse: '物资库', res_shelter: '避难场所', res_expert: '专家',
    team_fire: '消防', team_hazmat: '危化品', team_gas_repair: '燃气抢修', team_medical: '医疗急救', team_rescue: '综合救援',
    team_electric: '电力抢修', team_water: '排水抢险', team_structural: '工程抢险',
    nearby: '附近应急资源', in_circle: '5分钟圈内', travel: '预计', km: '公里', min: '分钟', wanted: '需要',
    off_duty: '非值班', no_location: '无位置信息', not_routing: '直线距离估算，非道路路线',
  },
  en: {
    app_title: 'City Safety Monitoring & Early Warning', login: 'Login name', password: 'Password', one_time_code: 'One-time code', sign_in: 'Sign in', sign_out: 'Sign out',
    key_hint: 'After sign-in the session lives in a cookie only the server reads; the password never appears in the URL.', code_needed: 'Enter the 6-digit code from your authenticator app', whole_city: 'whole city', comment: 'Comment', assign: 'Take it on', assignee: 'Assignee', evidence: 'Video evidence', snapshot: 'Snapshot', clip: 'Clip', camera: 'Camera', commented: 'commented', assigned: 'assigned',
    bad_key: 'Wrong login name or password', live_alarms: 'Live alarms', site_map: 'Site map',
    alarm_detail: 'Alarm detail', sensor_chart: 'Sensor chart', clear_filters: 'Clear filters',
    no_alarms: 'No alarms match', pick_alarm: 'Pick an alarm in the list', pick_alarm_chart:
      'Pick an alarm to see its sensor over the last hour',
    col_level: 'Level', col_title: 'Alarm', col_site: 'Site', col_value: 'Value', col_status: 'Status',
    col_time: 'Time', cat_process: 'Process alarms', cat_device: 'Device alarms (fault, offline)', cat_fault: 'fault', cat_offline: 'offline', in_fault: 'Sensors in fault', site_alarm: 'site alarm', members: 'Members', all_levels: 'All levels', all_domains: 'All domains', all_districts: 'All districts',
    red: 'Red', orange: 'Orange', yellow: 'Yellow', blue: 'Blue',
    open: 'Open', acknowledged: 'Acknowledged', handling: 'Handling', resolved: 'Resolved', closed: 'Closed',
    active: 'active', cleared: 'cleared', unknown: 'unknown',
    acknowledge: 'Acknowledge', handle: 'Handle', resolve: 'Resolve', close: 'Close', note: 'Note',
    reason: 'Close reason', no_reason: '(none)', false_alarm: 'False alarm', device_fault: 'Device fault',
    test: 'Test', duplicate: 'Duplicate', rule: 'Rule', sensor: 'Sensor', site: 'Site', district: 'District',
    value: 'Value', peak: 'Peak', first: 'First', last: 'Last', count: 'Count', advice: 'Handling advice',
    timeline: 'Timeline', done: 'Done', offline: 'Sensors offline', live: 'live', connecting: 'connecting',
    disconnected: 'disconnected', sound_on: 'Sound: on', sound_off: 'Sound: off', no_data: 'No data in the last hour',
    thresholds: 'Thresholds', new_red: 'New red alarm',
    raised: 'raised', escalated: 'escalated', deescalated: 'de-escalated', reactivated: 'reactivated',
    inhibited: 'inhibited', released: 'released', part_of: 'Part of',
    coverage: 'Coverage', cov_covered: 'items covered', cov_unwatched: 'required items without a working sensor:', cov_ok: 'ok',
    cov_in_alarm: 'in alarm', cov_offline: 'offline', cov_fault: 'fault', cov_no_sensor: 'no sensor',
    notified: 'notified', escalated_to: 'escalated to', disposal_overdue: 'disposal overdue', silenced: 'silenced',
    unsilenced: 'silence ended', enterprise: 'enterprise', sector: 'sector desk', city: 'city', notification: 'Notification & escalation',
    told: 'Told', ack_due: 'Acknowledge by', dispose_due: 'Dispose of by', overdue: 'overdue', left: 'left',
    none_told: 'nobody yet', signs_in: 'a user: signs in and acts', deliveries: 'Deliveries', pending: 'pending', delivered: 'delivered', failed: 'failed',
    responsible: 'Responsible unit & contacts', no_unit: 'no responsible unit registered', phone: 'Phone',
    silences: 'Silences & maintenance windows', no_silences: 'No silences in force', new_silence: 'New silence',
    duration_min: 'Duration (minutes)', silence_reason: 'Reason', create: 'Create', end_silence: 'End now', owner: 'Owner',
    until: 'until', matchers: 'Scope', silence_site: 'Silence this site', kind_raised: 'raised', kind_level_up: 'level up',
    kind_escalated: 'escalated', kind_reminder: 'reminder', kind_cleared: 'cleared', kind_closed: 'closed',
    cockpit: 'Cockpit', sensors: 'sensors', site_file: 'Site file', last_30_days: 'Last 30 days', raised_alarms: 'Alarms',
    ack_median_long: 'Median time to acknowledge', disposal_rate_long: 'Disposed of in time', sensors_long: 'Sensors', open_alarms_long: 'Open alarms', recent_alarms: 'Recent alarms', close_panel: 'Close', layer_sensors: 'Sensors', layer_resources: 'Resources', zoom_in: 'Zoom in', zoom_out: 'Zoom out', zoom_reset: 'Whole city',
    res_team: 'Rescue team', res_warehouse: 'Warehouse', res_shelter: 'Shelter', res_expert: 'Expert',
    team_fire: 'fire', team_hazmat: 'hazmat', team_gas_repair: 'gas repair', team_medical: 'medical', team_rescue: 'rescue',
    team_electric: 'electric', team_water: 'water', team_structural: 'structural',
    nearby: 'Nearest emergency resources', in_circle: 'in the 5-minute circle', travel: 'about', km: 'km', min: 'min', wanted: 'wanted',
    off_duty: 'off duty', no_location: 'no location', not_routing: 'straight-line estimate, not road routing',
  },
};

export const state = {
  lang: localStorage.getItem('cityguard.lang') || 'zh',
  category: 'process',  // the list shows process alarms or device alarms (fault, offline), never mixed
  who: null,               // the signed-in person (GET /api/v1/session): name, role, scope, display_name
  csrf: '',                // the session's CSRF token: sent with every change (the cookie is HttpOnly)
  sound: localStorage.getItem('cityguard.sound') !== 'off',
  alarms: new Map(),       // id -> alarm, not closed
  fresh: new Set(),        // ids to highlight once
  lastSeq: 0,              // resume position of the feed
  sites: new Map(),        // id -> site
  rules: new Map(),        // id -> rule
  selected: null,          // alarm id
  chart: null,             // {sensor, points: [{t, v, min, max}], unit, thresholds}
  ws: null,
  retry: 0,
  settings: {},
  overviewTimer: null,
  sensors: [],             // every sensor, for the map
  resources: [],           // emergency resources, for the map
  boundaries: null,        // district boundaries (GeoJSON) when the server has them
  layers: { sensors: true, resources: true },
  mapView: { zoom: 1, dx: 0, dy: 0 },  // the user's zoom and pan inside the fitted frame
  domains: [],             // the domain catalog of the rule packs (GET /api/v1/domains), in pack order
};

export const $ = (sel) => document.querySelector(sel);
export const t = (k) => (TEXT[state.lang] && TEXT[state.lang][k]) || domainName(k) || k;
// The domains are data (the rule packs declare them): ids, names in both languages, colours.
export const domainIds = () => state.domains.map((d) => d.id);
// The catalog's domains that have a site in the caller's part of the city: a city without a
// heating network gets no heating bar, an enterprise only its own domain.
export const presentDomains = () => {
  const used = new Set([...state.sites.values()].map((s) => s.domain));
  return domainIds().filter((d) => used.has(d));
};
export const domainOf = (id) => state.domains.find((d) => d.id === id);
const domainName = (id) => { const d = domainOf(id); return d ? inLang(d.name) : ''; };
export async function loadDomains() {
  const listed = await api('GET', '/api/v1/domains');
  state.domains = listed.domains || [];
}
// Alarm titles and advice come as {zh, en}: show the operator's language, the other if it is missing.
export const inLang = (text) => (text ? text[state.lang] || text.zh || text.en || '' : '');
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
export const levelRank = (l) => { const i = LEVELS.indexOf(l); return i < 0 ? 9 : i; };
export const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false }) : '');
// The deadline that matters now: acknowledge while open, dispose of while active and unresolved.
export function dueOf(a) {
  const n = a.notification || {};
  if (n.silenced) return null;
  if (a.status === 'open' && n.ack_due) return { kind: 'ack_due', at: Date.parse(n.ack_due) };
  if (a.condition === 'active' && !['resolved', 'closed'].includes(a.status) && n.dispose_due)
    return { kind: 'dispose_due', at: Date.parse(n.dispose_due) };
  return null;
}
export function fmtLeft(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const text = h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
  return ms < 0 ? `${t('overdue')} ${text}` : `${t('left')} ${text}`;
}
export const fmtNum = (v) => (v === null || v === undefined ? '–' : Math.abs(v) >= 100 ? v.toFixed(1) : (+v.toFixed(3)).toString());

// ---------- people ----------
// Who is signed in, as the header shows it: "福田值班员 · operator · 福田区".
export function whoText(who) {
  if (!who) return '';
  const s = who.scope || {};
  const parts = [...(s.districts || []), ...(s.domains || []).map((d) => t(d)), ...(s.units || [])];
  return `${who.display_name || who.name} · ${who.role} · ${parts.length ? parts.join(', ') : t('whole_city')}`;
}

// Signs in (login, password, one-time code when the account has one); the server sets the cookie.
export async function startSession(login, password, code) {
  const body = { login, password };
  if (code) body.code = code;
  const signed = await api('POST', '/api/v1/session', body);
  state.who = signed.who;
  state.csrf = signed.csrf_token;
  return signed;
}

// The session this browser already has (after a reload), or null.
export async function resumeSession() {
  try {
    const me = await api('GET', '/api/v1/session');
    state.who = me.who;
    state.csrf = me.csrf_token || '';
    return me;
  } catch (_) {
    return null;
  }
}

// A refused sign-in names what to do: a second factor opens its field, anything else says so.
export function showSignInError(e) {
  const second = Array.isArray(e.items) && e.items.some((i) => i && i.second_factor);
  if (second) {
    $('#code-row').hidden = false;
    $('#code').focus();
    $('#signin-error').textContent = t('code_needed');
  } else {
    $('#signin-error').textContent = e.status === 401 ? t('bad_key') : e.message;
  }
}

export async function endSession() {
  try { await api('DELETE', '/api/v1/session'); } catch (_) { /* gone already */ }
  state.who = null;
  state.csrf = '';
}

// ---------- REST ----------
// The session cookie goes along by itself (same origin); a change carries the CSRF token too.
export async function api(method, path, body) {
  const headers = { ...(body ? { 'Content-Type': 'application/json' } : {}) };
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  if (!res.ok) {
    const err = new Error((json && json.error && json.error.message) || res.statusText);
    err.status = res.status;
    err.code = json && json.error && json.error.code;
    err.items = json && json.error && json.error.items;
    throw err;
  }
  return json;
}
