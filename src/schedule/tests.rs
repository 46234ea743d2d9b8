//! Fixed instants, chosen by hand: ordinary weeks, holidays, and the daylight saving changes of
//! 2026 in Europe/Berlin (03-29, 10-25) and America/New_York (03-08, 11-01).

use super::*;
use chrono::Weekday::*;

pub(super) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a test instant")
        .to_utc()
}

fn hours(texts: &[&str]) -> Vec<HourRange> {
    texts
        .iter()
        .map(|t| t.parse().expect("a test range"))
        .collect()
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("a test date")
}

const EVERY_DAY: [Weekday; 7] = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];

/// Berlin support hours with a lunch break, Monday to Friday.
fn support_hours(except: &[NaiveDate]) -> Schedule {
    let days = [Mon, Tue, Wed, Thu, Fri];
    let tz = chrono_tz::Europe::Berlin;
    Schedule::new(tz, &days, &hours(&["08:00-12:30", "13:30-18:00"]), except)
}

fn daily(tz: Tz, range: &str) -> Schedule {
    Schedule::new(tz, &EVERY_DAY, &hours(&[range]), &[])
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn a_window_is_open_from_its_start_up_to_but_not_at_its_end() {
    let s = support_hours(&[]);
    // Wednesday 2026-04-29, CEST (UTC+2): 08:00 local is 06:00Z.
    assert!(!s.is_open(at("2026-04-29T05:59:59Z")));
    assert!(s.is_open(at("2026-04-29T06:00:00Z")));
    assert!(s.is_open(at("2026-04-29T10:29:59Z")));
    assert!(!s.is_open(at("2026-04-29T10:30:00Z")), "the lunch break");
    assert!(s.is_open(at("2026-04-29T11:30:00Z")));
    assert!(!s.is_open(at("2026-04-29T16:00:00Z")), "18:00 is the end");
}

#[test]
fn next_opening_is_now_when_open_and_the_next_start_otherwise() {
    let s = support_hours(&[]);
    let open = at("2026-04-29T07:00:00Z");
    assert_eq!(s.next_opening(open), Some(open));
    let lunch = at("2026-04-29T10:45:00Z");
    assert_eq!(s.next_opening(lunch), Some(at("2026-04-29T11:30:00Z")));
    // Friday evening → Monday 08:00.
    let friday = at("2026-05-01T17:00:00Z");
    assert_eq!(s.next_opening(friday), Some(at("2026-05-04T06:00:00Z")));
}

#[test]
fn next_closing_is_the_end_of_the_current_window_and_none_when_closed() {
    let s = support_hours(&[]);
    let morning = at("2026-04-29T08:00:00Z");
    assert_eq!(s.next_closing(morning), Some(at("2026-04-29T10:30:00Z")));
    assert_eq!(s.next_closing(at("2026-04-29T10:30:00Z")), None);
}

#[test]
fn whole_days_in_a_row_are_one_window_and_a_round_the_clock_schedule_never_closes() {
    let two_days = Schedule::new(Tz::UTC, &[Mon, Tue], &[HourRange::whole_day()], &[]);
    let monday_noon = at("2026-04-27T12:00:00Z");
    let wednesday = at("2026-04-29T00:00:00Z");
    assert_eq!(two_days.next_closing(monday_noon), Some(wednesday));
    let always = daily(chrono_tz::Europe::Berlin, "00:00-24:00");
    assert!(always.is_open(monday_noon));
    assert_eq!(always.next_closing(monday_noon), None);
}

#[test]
fn an_excepted_date_has_no_window_and_the_next_opening_skips_it() {
    let s = support_hours(&[date("2026-12-24"), date("2026-12-25")]);
    let christmas_eve = at("2026-12-24T10:00:00Z");
    assert!(!s.is_open(christmas_eve));
    // Thursday and Friday off, the weekend closed: Monday 2026-12-28, 08:00 CET = 07:00Z.
    assert_eq!(
        s.next_opening(christmas_eve),
        Some(at("2026-12-28T07:00:00Z"))
    );
}

#[test]
fn a_schedule_that_never_opens_again_has_no_next_opening() {
    let start = at("2026-04-27T12:00:00Z");
    let no_days = Schedule::new(Tz::UTC, &[], &[HourRange::whole_day()], &[]);
    assert_eq!(no_days.next_opening(start), None);
    // Mondays only, and every Monday of the next 60 weeks (past the horizon) excepted.
    let mondays: Vec<NaiveDate> = (0..60)
        .map(|week| date("2026-04-27") + Days::new(7 * week))
        .collect();
    let excepted = Schedule::new(Tz::UTC, &[Mon], &[HourRange::whole_day()], &mondays);
    assert_eq!(excepted.next_opening(start), None);
    assert_eq!(
        excepted.open_time_between(start, at("2027-04-27T00:00:00Z")),
        Duration::ZERO
    );
}

#[test]
fn open_time_counts_only_the_windows_of_a_week_and_leaves_out_holidays() {
    let week = (at("2026-04-27T00:00:00Z"), at("2026-05-04T00:00:00Z"));
    assert_eq!(
        support_hours(&[]).open_time_between(week.0, week.1),
        45 * HOUR
    );
    let holiday = support_hours(&[date("2026-04-29")]);
    assert_eq!(holiday.open_time_between(week.0, week.1), 36 * HOUR);
    // Part of a window: from 17:00 local on Wednesday to 09:00 local on Thursday is 2 hours.
    let part = (at("2026-04-29T15:00:00Z"), at("2026-04-30T07:00:00Z"));
    assert_eq!(
        support_hours(&[]).open_time_between(part.0, part.1),
        2 * HOUR
    );
    assert_eq!(
        support_hours(&[]).open_time_between(week.1, week.0),
        Duration::ZERO
    );
}

/// One daylight saving change: the zone, the local day, and the UTC offsets (hours) of the
/// day before and of the day itself at 08:00.
struct Change {
    tz: Tz,
    day: &'static str,
    before: i64,
    after: i64,
}

const CHANGES: [Change; 4] = [
    Change {
        tz: chrono_tz::Europe::Berlin,
        day: "2026-03-29",
        before: 1,
        after: 2,
    },
    Change {
        tz: chrono_tz::Europe::Berlin,
        day: "2026-10-25",
        before: 2,
        after: 1,
    },
    Change {
        tz: chrono_tz::America::New_York,
        day: "2026-03-08",
        before: -5,
        after: -4,
    },
    Change {
        tz: chrono_tz::America::New_York,
        day: "2026-11-01",
        before: -4,
        after: -5,
    },
];

/// 08:00 local on `day` with the UTC offset `offset` (hours).
fn eight_local(day: NaiveDate, offset: i64) -> DateTime<Utc> {
    let naive = day.and_hms_opt(8, 0, 0).expect("08:00").and_utc();
    naive - TimeDelta::hours(offset)
}

#[test]
fn office_hours_open_at_eight_local_and_last_ten_hours_on_every_change_day() {
    for change in CHANGES {
        let s = daily(change.tz, "08:00-18:00");
        let day = date(change.day);
        let eve = day.pred_opt().expect("a day before");
        let (eve_8, day_8) = (
            eight_local(eve, change.before),
            eight_local(day, change.after),
        );
        assert_eq!(
            s.next_opening(eight_local(eve, change.before + 1)),
            Some(eve_8)
        );
        assert_eq!(
            s.next_opening(eve_8 + TimeDelta::hours(11)),
            Some(day_8),
            "{}",
            change.day
        );
        let whole = (day_8 - TimeDelta::hours(8), day_8 + TimeDelta::hours(16));
        assert_eq!(
            s.open_time_between(whole.0, whole.1),
            10 * HOUR,
            "{}",
            change.day
        );
    }
}

#[test]
fn a_window_holding_the_skipped_hour_is_an_hour_shorter_and_the_repeated_hour_an_hour_longer() {
    let cases = [
        (chrono_tz::Europe::Berlin, "2026-03-29T00:00:00Z", 2),
        (chrono_tz::Europe::Berlin, "2026-10-24T23:00:00Z", 4),
        (chrono_tz::America::New_York, "2026-03-08T06:00:00Z", 2),
        (chrono_tz::America::New_York, "2026-11-01T05:00:00Z", 4),
    ];
    for (tz, opens, hours) in cases {
        let s = daily(tz, "01:00-04:00");
        let opens = at(opens);
        assert_eq!(s.next_opening(opens - TimeDelta::hours(2)), Some(opens));
        let closes = opens + TimeDelta::hours(hours);
        assert_eq!(s.next_closing(opens), Some(closes), "{tz} {opens}");
        assert_eq!(
            s.open_time_between(opens, closes + TimeDelta::hours(5)),
            hours as u32 * HOUR
        );
    }
    let day = (at("2026-03-28T23:00:00Z"), at("2026-03-29T22:00:00Z"));
    let always = daily(chrono_tz::Europe::Berlin, "00:00-24:00");
    assert_eq!(always.open_time_between(day.0, day.1), 23 * HOUR);
    let day = (at("2026-10-24T22:00:00Z"), at("2026-10-25T23:00:00Z"));
    assert_eq!(always.open_time_between(day.0, day.1), 25 * HOUR);
}

#[test]
fn a_start_in_the_spring_gap_opens_when_the_gap_ends_and_a_window_inside_it_never_opens() {
    let berlin = chrono_tz::Europe::Berlin;
    // 02:30 does not exist on 2026-03-29: the window opens at 03:00 CEST, 01:00Z.
    let late = daily(berlin, "02:30-04:00");
    let midnight = at("2026-03-28T23:00:00Z");
    assert_eq!(
        late.next_opening(midnight),
        Some(at("2026-03-29T01:00:00Z"))
    );
    assert_eq!(
        late.next_closing(at("2026-03-29T01:00:00Z")),
        Some(at("2026-03-29T02:00:00Z"))
    );
    let inside = daily(berlin, "02:00-03:00");
    assert_eq!(
        inside.open_time_between(midnight, at("2026-03-29T22:00:00Z")),
        Duration::ZERO
    );
    // The next night has a 02:00 again (CEST, UTC+2).
    assert_eq!(
        inside.next_opening(midnight),
        Some(at("2026-03-30T00:00:00Z"))
    );
}

#[test]
fn a_window_in_the_repeated_hour_opens_at_the_first_and_closes_at_the_second_pass() {
    let s = daily(chrono_tz::Europe::Berlin, "02:00-02:30");
    // 02:00 CEST is 00:00Z; 02:30 CET (the second pass) is 01:30Z.
    let night = at("2026-10-24T22:00:00Z");
    assert_eq!(s.next_opening(night), Some(at("2026-10-25T00:00:00Z")));
    let open = at("2026-10-25T00:00:00Z");
    assert_eq!(s.next_closing(open), Some(at("2026-10-25T01:30:00Z")));
}
