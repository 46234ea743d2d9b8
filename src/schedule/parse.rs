//! The text forms of a schedule's parts (`Europe/Berlin`, `mon`, `08:00-12:30`, `2026-12-24`),
//! parsed once at load into typed values, and written back the same way for `check`.
//!
//! Error messages name the accepted form and never repeat the refused text: configuration
//! errors do not quote values (see `config::errors`), and the form is what the user needs.

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::de::{Deserialize, Deserializer, Error as _};
use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Seconds in a local day without a daylight saving change; the end of a whole-day range.
pub(crate) const DAY_SECONDS: u32 = 24 * 3600;

/// A range of local time of day, `[start, end)` in seconds after midnight. It never crosses
/// midnight (`start < end ≤ 24:00`): a night shift is two ranges, `22:00-24:00` and `00:00-06:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourRange {
    start: u32,
    end: u32,
}

impl HourRange {
    /// The range from `start` to `end` seconds after local midnight; `None` unless
    /// `start < end ≤ 86400`.
    pub fn new(start: u32, end: u32) -> Option<HourRange> {
        (start < end && end <= DAY_SECONDS).then_some(HourRange { start, end })
    }

    /// The whole day, `00:00-24:00`.
    pub fn whole_day() -> HourRange {
        HourRange {
            start: 0,
            end: DAY_SECONDS,
        }
    }

    /// Seconds after local midnight at which the range starts.
    pub fn start(&self) -> u32 {
        self.start
    }

    /// Seconds after local midnight at which the range ends (exclusive; 86400 is midnight after).
    pub fn end(&self) -> u32 {
        self.end
    }

    /// Whether the two ranges share any time of day.
    pub fn overlaps(&self, other: &HourRange) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// `HH:MM` → seconds after midnight, `24:00` included (only an end may use it).
fn time_of_day(text: &str) -> Option<u32> {
    let (hours, minutes) = text.trim().split_once(':')?;
    let number = |s: &str, lengths: std::ops::RangeInclusive<usize>, max: u32| {
        let digits = lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        s.parse::<u32>().ok().filter(|v| digits && *v <= max)
    };
    let (hours, minutes) = (number(hours, 1..=2, 24)?, number(minutes, 2..=2, 59)?);
    if hours == 24 && minutes != 0 {
        return None;
    }
    Some(hours * 3600 + minutes * 60)
}

impl FromStr for HourRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let form = "expected a local time range `HH:MM-HH:MM` such as `08:00-12:30` \
                    (00:00 to 24:00, end exclusive)";
        let (start, end) = text.split_once('-').ok_or(form)?;
        let (start, end) = (
            time_of_day(start).ok_or(form)?,
            time_of_day(end).ok_or(form)?,
        );
        if start == DAY_SECONDS {
            return Err(form.to_string());
        }
        HourRange::new(start, end).ok_or_else(|| {
            "the range must end after it starts, and cannot cross midnight: for a night write \
             two ranges, such as `22:00-24:00` and `00:00-06:00`"
                .to_string()
        })
    }
}

impl fmt::Display for HourRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |s: u32| (s / 3600, s % 3600 / 60);
        let ((h1, m1), (h2, m2)) = (hm(self.start), hm(self.end));
        write!(f, "{h1:02}:{m1:02}-{h2:02}:{m2:02}")
    }
}

/// One value read from its text form, with a message naming that form when it does not parse.
pub(crate) trait FromText: Sized {
    fn from_text(text: &str) -> Result<Self, String>;
}

impl FromText for HourRange {
    fn from_text(text: &str) -> Result<Self, String> {
        text.parse()
    }
}

impl FromText for Weekday {
    fn from_text(text: &str) -> Result<Self, String> {
        // chrono also accepts full names (`monday`), in any case; the short form is documented.
        text.trim().parse().map_err(|_| {
            "expected a day: `mon`, `tue`, `wed`, `thu`, `fri`, `sat` or `sun`".to_string()
        })
    }
}

impl FromText for NaiveDate {
    fn from_text(text: &str) -> Result<Self, String> {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| "expected a date `YYYY-MM-DD` that exists, such as `2026-12-24`".into())
    }
}

impl FromText for Tz {
    fn from_text(text: &str) -> Result<Self, String> {
        text.trim().parse().map_err(|_| {
            let guess = closest_zone(text.trim())
                .map(|name| format!(", did you mean `{name}`?"))
                .unwrap_or_default();
            format!(
                "unknown time zone: expected an IANA name such as `Europe/Berlin` or `UTC`{guess}"
            )
        })
    }
}

/// The known zone name closest to a mistyped one, when it is close enough to be the intent.
fn closest_zone(text: &str) -> Option<&'static str> {
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| (strsim::jaro_winkler(text, tz.name()), tz.name()))
        .filter(|(score, _)| *score >= 0.9)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// A value deserialised from a string through [`FromText`].
struct Text<T>(T);

impl<'de, T: FromText> Deserialize<'de> for Text<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        T::from_text(&text).map(Text).map_err(D::Error::custom)
    }
}

/// `deserialize_with` for one value in its text form.
pub(crate) fn one<'de, D: Deserializer<'de>, T: FromText>(d: D) -> Result<T, D::Error> {
    Text::<T>::deserialize(d).map(|t| t.0)
}

/// `deserialize_with` for a list of values in their text form; an error names the item's index.
pub(crate) fn list<'de, D: Deserializer<'de>, T: FromText>(d: D) -> Result<Vec<T>, D::Error> {
    let items = Vec::<Text<T>>::deserialize(d)?;
    Ok(items.into_iter().map(|t| t.0).collect())
}

/// `serialize_with` for days: the lower-case short names the configuration uses.
pub(crate) fn days_out<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
    let names: Vec<String> = days.iter().map(|d| d.to_string().to_lowercase()).collect();
    names.serialize(s)
}

/// `serialize_with` for hour ranges: `HH:MM-HH:MM`.
pub(crate) fn hours_out<S: Serializer>(hours: &[HourRange], s: S) -> Result<S::Ok, S::Error> {
    let texts: Vec<String> = hours.iter().map(ToString::to_string).collect();
    texts.serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday::Mon;

    #[test]
    fn hour_ranges_accept_the_documented_form_and_refuse_the_rest() {
        let range: HourRange = "08:00-12:30".parse().expect("valid");
        assert_eq!((range.start(), range.end()), (8 * 3600, 12 * 3600 + 1800));
        assert_eq!(range.to_string(), "08:00-12:30");
        assert_eq!("00:00-24:00".parse(), Ok(HourRange::whole_day()));
        for bad in [
            "25:00-26:00",
            "08:60-09:00",
            "8-9",
            "24:00-24:00",
            "",
            "08:00",
            "08:00-24:30",
        ] {
            let error = bad.parse::<HourRange>().expect_err(bad);
            assert!(error.contains("`HH:MM-HH:MM`"), "{bad}: {error}");
        }
        for backwards in ["12:00-08:00", "22:00-06:00", "09:00-09:00"] {
            let error = backwards.parse::<HourRange>().expect_err(backwards);
            assert!(
                error.contains("cannot cross midnight"),
                "{backwards}: {error}"
            );
        }
    }

    #[test]
    fn days_dates_and_zones_name_their_form_and_a_near_miss_zone_is_suggested() {
        assert_eq!(Weekday::from_text("mon"), Ok(Mon));
        assert!(Weekday::from_text("mo").expect_err("no").contains("`mon`"));
        assert_eq!(
            NaiveDate::from_text("2026-12-24"),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 24).expect("a date"))
        );
        assert!(NaiveDate::from_text("2026-02-30")
            .expect_err("no")
            .contains("YYYY-MM-DD"));
        assert_eq!(
            Tz::from_text("Europe/Berlin"),
            Ok(chrono_tz::Europe::Berlin)
        );
        let error = Tz::from_text("Europe/Berln").expect_err("a typo");
        assert!(error.contains("did you mean `Europe/Berlin`?"), "{error}");
        assert!(
            !error.contains('"'),
            "quoted text would be scrubbed: {error}"
        );
    }
}
