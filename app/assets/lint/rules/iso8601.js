// Timer values the way the engine reads them at deploy (SpiffWorkflow 3.2's TimerEventDefinition on
// Python 3.11): durations with parse_iso_duration, dates with datetime.fromisoformat, cycles with
// parse_iso_recurring_interval. Each function returns normally for a value the engine accepts and
// throws for one it refuses.
const DATE_SPECS = ["years", "months", "days"];
const TIME_SPECS = ["hours", "minutes", "seconds"];
const DESIGNATORS = ["years", "months", "weeks", "days", "t", "hours", "minutes", "seconds"];
const DIGITS = /^\p{Nd}+$/u;

function invalid() {
  throw new Error("invalid ISO 8601 value");
}

function stripChars(text, chars) {
  let start = 0;
  let end = text.length;
  while (start < end && chars.includes(text[start])) start += 1;
  while (end > start && chars.includes(text[end - 1])) end -= 1;
  return text.slice(start, end);
}

/** A duration ("P3D", "PT12H", "P1W"); the parsed parts, as the engine's parse_iso_duration. */
function parseDuration(expression) {
  const parsed = {};
  let current = stripChars(expression.toLowerCase(), "p").replace(/,/g, ".");
  let hasT = false;
  for (const designator of DESIGNATORS) {
    const at = current.indexOf(designator[0]);
    if (at < 0) continue;
    const amount = current.slice(0, at);
    const remainder = current.slice(at + 1);
    if (DIGITS.test(amount)) parsed[designator] = Number(amount);
    else if (DIGITS.test(amount.replace(/\./g, "")) && !remainder) parsed[designator] = Number(amount);
    if (designator in parsed || designator === "t") current = remainder;
    if (designator === "t") hasT = true;
  }
  const parsedT = Object.keys(parsed).some((key) => TIME_SPECS.includes(key));
  const mixesWeeks = "weeks" in parsed && Object.keys(parsed).some((key) => DATE_SPECS.includes(key));
  if (current.length || parsedT !== hasT || mixesWeeks) invalid();
  return parsed;
}

function digits(text, length) {
  if (text.length !== length || !/^[0-9]+$/.test(text)) invalid();
  return Number(text);
}

function daysInMonth(year, month) {
  return new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
}

function isLeap(year) {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function weekdayOfJanuaryFirst(year) {
  const day = new Date(0);
  day.setUTCFullYear(year, 0, 1);
  return day.getUTCDay(); // 0 = Sunday
}

function checkIsoWeek(year, week, day) {
  if (year < 1 || year > 9999 || day < 1 || day > 7 || week < 1) invalid();
  if (week === 53) {
    const first = weekdayOfJanuaryFirst(year);
    if (!(first === 4 || (first === 3 && isLeap(year)))) invalid();
  } else if (week > 53) {
    invalid();
  }
}

function separatorAt(text) {
  if (text.length === 7) return 7;
  if (text[4] === "-") {
    if (text[5] !== "W") return 10;
    if (text.length > 8 && text[8] === "-") {
      if (text.length === 9) invalid();
      return text.length > 10 && /[0-9]/.test(text[10]) ? 8 : 10;
    }
    return 8;
  }
  if (text[4] !== "W") return 8;
  let at = 7;
  while (at < text.length && /[0-9]/.test(text[at])) at += 1;
  if (at < 9) return at;
  return at % 2 === 0 ? 7 : 8;
}

function parseDate(text) {
  if (![7, 8, 10].includes(text.length)) invalid();
  const year = digits(text.slice(0, 4), 4);
  const dashed = text[4] === "-";
  let at = 4 + (dashed ? 1 : 0);
  if (text[at] === "W") {
    at += 1;
    const week = digits(text.slice(at, at + 2), 2);
    at += 2;
    let day = 1;
    if (text.length > at) {
      if ((text[at] === "-") !== dashed) invalid();
      at += dashed ? 1 : 0;
      day = digits(text.slice(at, at + 1), 1);
      if (text.length > at + 1) invalid();
    }
    checkIsoWeek(year, week, day);
    return;
  }
  const month = digits(text.slice(at, at + 2), 2);
  at += 2;
  if ((text[at] === "-") !== dashed) invalid();
  at += dashed ? 1 : 0;
  const day = digits(text.slice(at, at + 2), 2);
  if (text.length !== at + 2) invalid();
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) invalid();
}

/** HH[:MM[:SS[.ffffff]]] (or without colons); [hours, minutes, seconds]. */
function parseClock(text) {
  const parts = [0, 0, 0];
  let at = 0;
  let colons = false;
  for (let part = 0; part < 3; part += 1) {
    parts[part] = digits(text.slice(at, at + 2), 2);
    at += 2;
    const next = text[at];
    if (part === 0) colons = next === ":";
    if (next === undefined || part >= 2) break;
    if (colons && next !== ":") invalid();
    at += colons ? 1 : 0;
  }
  if (at < text.length) {
    if (text[at] !== "." && text[at] !== ",") invalid();
    const fraction = text.slice(at + 1);
    if (!/^[0-9]+$/.test(fraction)) invalid();
  }
  return parts;
}

function parseTime(text) {
  if (text.length < 2) invalid();
  const zoneAt = ["-", "+", "Z"].map((sign) => text.indexOf(sign)).find((at) => at >= 0);
  const clock = zoneAt === undefined ? text : text.slice(0, zoneAt);
  const [hour, minute, second] = parseClock(clock);
  if (hour > 23 || minute > 59 || second > 59) invalid();
  if (zoneAt === undefined || (zoneAt === text.length - 1 && text.endsWith("Z"))) return;
  const zone = text.slice(zoneAt + 1);
  if ([0, 1, 3].includes(zone.length)) invalid();
  const [zh, zm, zs] = parseClock(zone);
  if (zh * 3600 + zm * 60 + zs >= 86400) invalid(); // an offset is any span under a day
}

/** A date or date-time, as Python 3.11's datetime.fromisoformat. */
function parseDateTime(text) {
  if (text.length < 7) invalid();
  const at = separatorAt(text);
  parseDate(text.slice(0, at));
  if (text.length > at) parseTime(text.slice(at + 1)); // a separator needs a time after it
  return { date: text };
}

function parseTimeOrDuration(text) {
  const upper = text.toUpperCase();
  if (upper.startsWith("P")) return parseDuration(text);
  if (upper.includes("W")) {
    const match = /^(\p{Nd}{4})W(\p{Nd}{2})(\p{Nd})(T.+)?/u.exec(upper.replace(/-/g, ""));
    if (!match) invalid();
    checkIsoWeek(Number(match[1]), Number(match[2]), Number(match[3]));
    if (match[4]) parseTime(match[4].slice(1));
    return { date: text };
  }
  return parseDateTime(text);
}

/** A recurring interval ("R3/PT1H", "R/2030-04-01T09:00:00+09:00/P1D"). */
function parseCycle(expression) {
  const components = stripChars(expression.toUpperCase().replace(/--/g, "/"), "R").split("/");
  if (components[0] && !/^\s*[+-]?\p{Nd}+(?:_\p{Nd}+)*\s*$/u.test(components[0])) invalid();
  if (components.length < 2) invalid();
  const first = parseTimeOrDuration(components[1]);
  const second = components.length === 3 ? parseTimeOrDuration(components[2]) : null;
  const isDate = (value) => value !== null && "date" in value;
  if (isDate(first)) {
    if (second === null || isDate(second)) invalid();
  } else if (second !== null && !isDate(second)) {
    invalid();
  }
}

function accepts(parse, value) {
  try {
    parse(value);
    return true;
  } catch {
    return false;
  }
}

/** Whether the engine accepts `value` for a timer of this kind (timeDate, timeDuration, timeCycle). */
function timerValueAccepted(kind, value) {
  if (kind === "timeDuration") return accepts(parseDuration, value);
  if (kind === "timeDate") return accepts(parseDateTime, value);
  return accepts(parseCycle, value);
}

export { timerValueAccepted };
