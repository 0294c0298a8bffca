//! The mailer and the outbox worker against a real SMTP server (aiosmtpd, see `tl_mail::testing`).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use std::convert::Infallible;
use std::sync::Mutex;
use std::time::Duration;
use tl_mail::testing::SmtpTestServer;
use tl_mail::{deliver_due, next_attempt, outbox_message_id, Cause, DeliveryStats, Mail, Mailer, Outbox, OutboxMail, SendError};

const SUBJECT: &str = "Hồ sơ H26.01-261126-0001 đã được tiếp nhận";
const TEXT: &str = "Kính gửi ông/bà Nguyễn Thị Ánh,\n\n\
Hồ sơ H26.01-261126-0001 đã được tiếp nhận. Dấu thanh và chữ: ệ ố ữ ẫ ậ ở ự ỹ.\n\
Ngày hẹn trả kết quả: 03/12/2026.\n";
const HTML: &str = "<p>Kính gửi ông/bà <b>Nguyễn Thị Ánh</b>,</p>\n<p>Hồ sơ H26.01-261126-0001 đã được tiếp nhận: ệ ố ữ ẫ ậ ở ự ỹ.</p>\n";
const LEASE: TimeDelta = TimeDelta::minutes(15);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap()
}

fn mail(id: i64, to: &str) -> Mail {
    Mail {
        to: to.into(),
        subject: SUBJECT.into(),
        text: TEXT.into(),
        html: Some(HTML.into()),
        message_id: outbox_message_id(id, "thanglong.example"),
    }
}

#[derive(Debug, Clone)]
struct Row {
    id: i64,
    mail: Mail,
    attempts: u32,
    /// None once sent or given up.
    next_attempt_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

/// The outbox table in memory, with the claim lease the trait asks for.
#[derive(Default)]
struct MemoryOutbox {
    rows: Mutex<Vec<Row>>,
}

impl MemoryOutbox {
    fn with(mails: Vec<(i64, Mail)>, due: DateTime<Utc>) -> Self {
        let rows = mails
            .into_iter()
            .map(|(id, mail)| Row { id, mail, attempts: 0, next_attempt_at: Some(due), sent_at: None, last_error: None })
            .collect();
        MemoryOutbox { rows: Mutex::new(rows) }
    }

    fn row(&self, id: i64) -> Row {
        self.rows.lock().unwrap().iter().find(|r| r.id == id).cloned().expect("row exists")
    }
}

#[async_trait::async_trait]
impl Outbox for MemoryOutbox {
    type Error = Infallible;

    async fn claim_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxMail>, Infallible> {
        let mut rows = self.rows.lock().unwrap();
        let mut claimed = Vec::new();
        for row in rows.iter_mut().filter(|r| r.next_attempt_at.is_some_and(|t| t <= now)).take(limit as usize) {
            row.next_attempt_at = Some(now + LEASE);
            claimed.push(OutboxMail { id: row.id, attempts: row.attempts, mail: row.mail.clone() });
        }
        Ok(claimed)
    }

    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), Infallible> {
        let mut rows = self.rows.lock().unwrap();
        let row = rows.iter_mut().find(|r| r.id == id).expect("row exists");
        assert!(row.sent_at.is_none(), "outbox row {id} marked sent twice");
        row.attempts += 1;
        row.sent_at = Some(at);
        row.next_attempt_at = None;
        Ok(())
    }

    async fn mark_failed(&self, id: i64, attempts: u32, next: Option<DateTime<Utc>>, error: &str) -> Result<(), Infallible> {
        let mut rows = self.rows.lock().unwrap();
        let row = rows.iter_mut().find(|r| r.id == id).expect("row exists");
        row.attempts = attempts;
        row.next_attempt_at = next;
        row.last_error = Some(error.into());
        Ok(())
    }
}

fn stats(sent: u32, retried: u32, given_up: u32) -> DeliveryStats {
    DeliveryStats { sent, retried, given_up }
}

#[tokio::test]
async fn a_vietnamese_mail_arrives_intact_with_our_message_id() {
    let Some(server) = SmtpTestServer::start().await else { return };
    let mailer = Mailer::new(&server.config()).unwrap();
    let to = "Nguyễn Thị Ánh <anh.nguyen@example.vn>";
    let outbox = MemoryOutbox::with(vec![(123, mail(123, to))], t0());

    assert_eq!(deliver_due(&outbox, &mailer, t0(), 10).await.unwrap(), stats(1, 0, 0));
    assert_eq!(outbox.row(123).sent_at, Some(t0()));

    let got = server.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.subject, SUBJECT);
    assert_eq!(m.text.as_deref(), Some(TEXT));
    assert_eq!(m.html.as_deref(), Some(HTML));
    assert_eq!(m.message_id, "<outbox-123@thanglong.example>");
    assert_eq!(m.content_type, "multipart/alternative");
    assert_eq!(m.from, "Cổng dịch vụ công Thăng Long <no-reply@thanglong.example>");
    assert_eq!(m.to, to);
    assert_eq!(m.mail_from, "no-reply@thanglong.example");
    assert_eq!(m.rcpt_to, ["anh.nguyen@example.vn"]);
    // On the wire everything is 7-bit: encoded-words in headers, QP or base64 bodies.
    assert!(m.raw.is_ascii(), "{}", m.raw);
    let subject_line = m.raw.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(subject_line.to_ascii_lowercase().starts_with("subject: =?utf-8?"), "{subject_line}");
    assert_eq!(m.transfer_encodings.len(), 2);
    assert!(m.transfer_encodings.iter().all(|e| e == "quoted-printable" || e == "base64"), "{:?}", m.transfer_encodings);
    assert!(m.raw.contains("\r\nAuto-Submitted: auto-generated\r\n"));
}

#[tokio::test]
async fn a_plain_text_mail_is_a_single_part() {
    let Some(server) = SmtpTestServer::start().await else { return };
    let mailer = Mailer::new(&server.config()).unwrap();
    mailer.send(&Mail { html: None, ..mail(7, "anh.nguyen@example.vn") }).await.unwrap();
    let got = server.messages();
    assert_eq!(got[0].content_type, "text/plain");
    assert_eq!(got[0].text.as_deref(), Some(TEXT));
    assert_eq!(got[0].html, None);
}

#[tokio::test]
async fn a_550_is_given_up_after_one_attempt_and_a_451_is_retried() {
    let rejections = [("gone@example.vn", 550), ("busy@example.vn", 451)];
    let Some(server) = SmtpTestServer::start_rejecting(&rejections).await else { return };
    let mailer = Mailer::new(&server.config()).unwrap();

    match mailer.send(&mail(1, "gone@example.vn")).await {
        Err(SendError::Permanent(Cause::Reply { code: 550, text })) => assert!(text.contains("gone@example.vn"), "{text}"),
        other => panic!("expected a permanent 550, got {other:?}"),
    }
    match mailer.send(&mail(2, "busy@example.vn")).await {
        Err(SendError::Transient(Cause::Reply { code: 451, text })) => assert!(text.contains("4.2.1"), "{text}"),
        other => panic!("expected a transient 451, got {other:?}"),
    }

    let outbox =
        MemoryOutbox::with(vec![(1, mail(1, "gone@example.vn")), (2, mail(2, "busy@example.vn")), (3, mail(3, "ok@example.vn"))], t0());
    assert_eq!(deliver_due(&outbox, &mailer, t0(), 10).await.unwrap(), stats(1, 1, 1));

    let gone = outbox.row(1);
    assert_eq!((gone.attempts, gone.next_attempt_at, gone.sent_at), (1, None, None));
    assert!(gone.last_error.unwrap().contains("550"));
    let busy = outbox.row(2);
    assert_eq!((busy.attempts, busy.next_attempt_at), (1, Some(t0() + TimeDelta::minutes(1))));
    assert!(busy.last_error.unwrap().contains("451"));

    // Not due yet; then due, fails again and waits twice as long. The 550 never comes back.
    assert_eq!(deliver_due(&outbox, &mailer, t0() + TimeDelta::seconds(30), 10).await.unwrap(), stats(0, 0, 0));
    let t1 = t0() + TimeDelta::minutes(1);
    assert_eq!(deliver_due(&outbox, &mailer, t1, 10).await.unwrap(), stats(0, 1, 0));
    assert_eq!(outbox.row(2).attempts, 2);
    assert_eq!(outbox.row(2).next_attempt_at, Some(t1 + TimeDelta::minutes(2)));
    assert_eq!(deliver_due(&outbox, &mailer, t0() + TimeDelta::days(30), 10).await.unwrap(), stats(0, 1, 0));

    let got = server.messages();
    assert_eq!(got.len(), 1, "only the mail to ok@ arrived");
    assert_eq!(got[0].rcpt_to, ["ok@example.vn"]);
}

#[tokio::test]
async fn while_the_server_is_down_the_mail_waits_then_arrives_exactly_once() {
    let Some(mut server) = SmtpTestServer::start().await else { return };
    let mailer = Mailer::new(&server.config()).unwrap();
    server.stop();

    match mailer.send(&mail(9, "anh.nguyen@example.vn")).await {
        Err(SendError::Transient(Cause::Connection(reason))) => assert!(reason.to_lowercase().contains("refused"), "{reason}"),
        other => panic!("expected a transient connection error, got {other:?}"),
    }
    let outbox = MemoryOutbox::with(vec![(9, mail(9, "anh.nguyen@example.vn"))], t0());
    assert_eq!(deliver_due(&outbox, &mailer, t0(), 10).await.unwrap(), stats(0, 1, 0));

    server.restart().await;
    assert_eq!(deliver_due(&outbox, &mailer, t0() + TimeDelta::seconds(59), 10).await.unwrap(), stats(0, 0, 0));
    let t1 = t0() + TimeDelta::minutes(1);
    assert_eq!(deliver_due(&outbox, &mailer, t1, 10).await.unwrap(), stats(1, 0, 0));
    assert_eq!(deliver_due(&outbox, &mailer, t1 + TimeDelta::days(3), 10).await.unwrap(), stats(0, 0, 0));

    let row = outbox.row(9);
    assert_eq!((row.attempts, row.sent_at), (2, Some(t1)));
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message_id, "<outbox-9@thanglong.example>");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_as_transient() {
    // Accepted by the kernel's backlog, never greeted: the dialogue stalls.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cfg = tl_mail::SmtpConfig {
        host: "127.0.0.1".into(),
        port: silent.local_addr().unwrap().port(),
        security: tl_mail::Security::None,
        username: None,
        password: None,
        from: tl_mail::testing::TEST_FROM.into(),
        timeout: Duration::from_secs(1),
    };
    let err = Mailer::new(&cfg).unwrap().send(&mail(1, "a@example.vn")).await.unwrap_err();
    assert_eq!(err, SendError::Transient(Cause::Timeout(Duration::from_secs(1))));

    cfg.username = Some("thanglong".into());
    cfg.password = Some("s3cret".into());
    assert!(matches!(Mailer::new(&cfg), Err(tl_mail::ConfigError::CredentialsWithoutTls)));
}

#[tokio::test]
async fn the_worker_loop_delivers_and_stops_on_shutdown() {
    let Some(server) = SmtpTestServer::start().await else { return };
    let mailer = Mailer::new(&server.config()).unwrap();
    let outbox = MemoryOutbox::with(vec![(1, mail(1, "a@example.vn")), (2, mail(2, "b@example.vn"))], Utc::now());
    // A batch of 1 also exercises draining: both go out in the first tick.
    tl_mail::run(&outbox, &mailer, Duration::from_secs(3600), 1, tokio::time::sleep(Duration::from_millis(300))).await;
    assert!(outbox.row(1).sent_at.is_some() && outbox.row(2).sent_at.is_some());
    assert_eq!(server.messages().len(), 2);
}

#[test]
fn backoff_doubles_from_one_minute_caps_at_an_hour_and_gives_up_after_two_days() {
    let now = t0();
    let delay = |n| next_attempt(n, now).map(|t| t - now);
    assert_eq!(delay(1), Some(TimeDelta::minutes(1)));
    assert_eq!(delay(2), Some(TimeDelta::minutes(2)));
    assert_eq!(delay(3), Some(TimeDelta::minutes(4)));

    let delays: Vec<TimeDelta> = (1..).map_while(delay).collect();
    assert!(delays.windows(2).all(|w| w[0] <= w[1]), "monotone");
    assert!(delays.iter().all(|d| *d <= tl_mail::MAX_RETRY_DELAY), "capped");
    assert_eq!(delays.last(), Some(&TimeDelta::hours(1)));
    let total: TimeDelta = delays.iter().sum();
    assert!(total > TimeDelta::hours(47) && total <= tl_mail::GIVE_UP_AFTER, "{total}");

    let give_up = delays.len() as u32 + 1;
    for n in [give_up, give_up + 1, give_up + 1000, u32::MAX] {
        assert_eq!(next_attempt(n, now), None, "attempt {n}");
    }
}
