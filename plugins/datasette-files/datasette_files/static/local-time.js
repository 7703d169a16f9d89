/* Times the server writes in UTC (<time datetime data-local-time>, with a day
   and a clock part), shown in the reader's time zone: the day as their locale
   writes it, the clock as hh:mm, and the whole moment with its zone on hover. */

const day = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

/** Every such time in `root`, shown in local time. */
export function localiseTimes(root = document) {
  root.querySelectorAll("time[data-local-time]").forEach((time) => {
    const moment = new Date(time.dateTime);
    if (isNaN(moment)) { return; }
    time.querySelector(".df-day").textContent = day.format(moment);
    time.querySelector(".df-clock").textContent = clock.format(moment);
    time.title = full.format(moment);
  });
}

localiseTimes();
