//! PostgreSQL's binary COPY format, written straight into a byte buffer (`riposte generate`
//! and imports).
//!
//! `tokio_postgres::binary_copy::BinaryCopyInWriter` writes the same format, but from
//! `&dyn ToSql` values on the task that owns the connection. Rows here are made on a
//! generator thread; encoding them there too leaves the connection task nothing to do but
//! forward finished buffers to `copy_in`, and spares an owned row per action crossing
//! threads. The layouts used (uuid, text, date, float8, int8, timestamptz, text[]) are the
//! ones `postgres-types` sends; the integration test reads every table back through the API.

use uuid::Uuid;

pub struct Encoder {
    pub buf: Vec<u8>,
}

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;
const TEXT_OID: i32 = 25;

impl Encoder {
    pub fn new(capacity: usize) -> Self {
        Encoder {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// The signature, flags and header extension that open a binary COPY stream.
    pub fn header(&mut self) {
        self.buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        self.buf.extend_from_slice(&0i32.to_be_bytes());
        self.buf.extend_from_slice(&0i32.to_be_bytes());
    }

    /// The end-of-data marker.
    pub fn trailer(&mut self) {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
    }

    pub fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    pub fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(&(b.len() as i32).to_be_bytes());
        self.buf.extend_from_slice(b);
    }

    pub fn bool(&mut self, b: bool) {
        self.bytes(&[u8::from(b)]);
    }

    pub fn uuid(&mut self, id: Uuid) {
        self.bytes(id.as_bytes());
    }

    pub fn opt_uuid(&mut self, id: Option<Uuid>) {
        match id {
            Some(id) => self.uuid(id),
            None => self.null(),
        }
    }

    pub fn text(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    /// A date as days since 2000-01-01.
    pub fn date(&mut self, day: i32) {
        self.bytes(&day.to_be_bytes());
    }

    pub fn opt_date(&mut self, day: Option<i32>) {
        match day {
            Some(d) => self.date(d),
            None => self.null(),
        }
    }

    pub fn f64(&mut self, x: f64) {
        self.bytes(&x.to_bits().to_be_bytes());
    }

    pub fn i32(&mut self, x: i32) {
        self.bytes(&x.to_be_bytes());
    }

    pub fn i64(&mut self, x: i64) {
        self.bytes(&x.to_be_bytes());
    }

    /// A timestamptz given as seconds since the Unix epoch.
    pub fn timestamp(&mut self, unix_seconds: i64) {
        self.i64(unix_seconds * 1_000_000 - PG_EPOCH_UNIX_MICROS);
    }

    /// A one-dimensional text[] without nulls (or an empty array).
    pub fn text_array(&mut self, items: &[&str]) {
        let mut body: Vec<u8> = Vec::with_capacity(20 + items.len() * 16);
        let dims: i32 = if items.is_empty() { 0 } else { 1 };
        body.extend_from_slice(&dims.to_be_bytes());
        body.extend_from_slice(&0i32.to_be_bytes()); // no nulls
        body.extend_from_slice(&TEXT_OID.to_be_bytes());
        if !items.is_empty() {
            body.extend_from_slice(&(items.len() as i32).to_be_bytes());
            body.extend_from_slice(&1i32.to_be_bytes()); // lower bound
            for item in items {
                body.extend_from_slice(&(item.len() as i32).to_be_bytes());
                body.extend_from_slice(item.as_bytes());
            }
        }
        self.bytes(&body);
    }
}

/// Element type ids of the arrays `Encoder::array` writes.
pub const UUID_OID: i32 = 2950;
pub const DATE_OID: i32 = 1082;
pub const TEXT_ARRAY_OID: i32 = TEXT_OID;

/// Days from 0001-01-01 (chrono's day 1) to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_FROM_CE: i32 = 730_120;

/// A day as binary COPY writes it: days since 2000-01-01.
pub fn pg_day(d: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce() - PG_EPOCH_FROM_CE
}

impl Encoder {
    pub fn day(&mut self, d: chrono::NaiveDate) {
        self.date(pg_day(d));
    }

    pub fn opt_day(&mut self, d: Option<chrono::NaiveDate>) {
        self.opt_date(d.map(pg_day));
    }

    /// A one-dimensional array of `oid` elements, each given as its binary value or None
    /// for NULL.
    pub fn array<'a>(&mut self, oid: i32, items: impl ExactSizeIterator<Item = Option<&'a [u8]>>) {
        let len = items.len();
        let mut body: Vec<u8> = Vec::with_capacity(20 + len * 20);
        body.extend_from_slice(&i32::from(len > 0).to_be_bytes());
        body.extend_from_slice(&1i32.to_be_bytes()); // may hold nulls
        body.extend_from_slice(&oid.to_be_bytes());
        if len > 0 {
            body.extend_from_slice(&(len as i32).to_be_bytes());
            body.extend_from_slice(&1i32.to_be_bytes());
            for item in items {
                match item {
                    Some(b) => {
                        body.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        body.extend_from_slice(b);
                    }
                    None => body.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
        }
        self.bytes(&body);
    }

    /// jsonb: a version byte, then the JSON text.
    pub fn jsonb(&mut self, json: &str) {
        let mut b = Vec::with_capacity(json.len() + 1);
        b.push(1);
        b.extend_from_slice(json.as_bytes());
        self.bytes(&b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let mut e = Encoder::new(64);
        e.date(1);
        assert_eq!(e.buf, [0, 0, 0, 4, 0, 0, 0, 1]);
        let mut e = Encoder::new(64);
        e.timestamp(946_684_801);
        assert_eq!(e.buf[..4], [0, 0, 0, 8]);
        assert_eq!(
            i64::from_be_bytes(e.buf[4..].try_into().unwrap()),
            1_000_000
        );
        let mut e = Encoder::new(64);
        e.text_array(&["a"]);
        assert_eq!(
            e.buf,
            [
                0, 0, 0, 25, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
                1, b'a'
            ]
        );
    }
}
