// Calendar days as the service counts them: days of Asia/Shanghai, whatever zone the browser is in.
// (toISOString() gives the UTC day, which in Beijing is the day before until 08:00.)
const ZONE = 'Asia/Shanghai';
const fmt = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });

/** 'YYYY-MM-DD' of the instant `d` in Beijing time. */
export const serviceDay = (d = new Date()) => fmt.format(d);

/** The day `n` days after the 'YYYY-MM-DD' `day` (calendar arithmetic, no zone involved). */
export function addDays(day, n) {
  const [y, m, dd] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, dd + n)).toISOString().slice(0, 10);
}

/** The first day of the month of the 'YYYY-MM-DD' `day`. */
export const monthStart = (day) => `${day.slice(0, 8)}01`;
