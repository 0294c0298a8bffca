//! The OpenID Connect provider's storage: clients, consents, single-use codes, refresh-token
//! families and published keys behave the same on both databases.

use super::*;
use tl_storage::revocation;

fn client(id: &str, now: chrono::DateTime<Utc>) -> OidcClient {
    OidcClient {
        client_id: id.into(),
        name: "Thư viện Hà Nội".into(),
        secret_hash: Some("ab".repeat(32)),
        redirect_uris: vec!["https://thuvien.example.vn/cb".into()],
        post_logout_redirect_uris: vec!["https://thuvien.example.vn/".into()],
        scopes: vec!["openid".into(), "profile".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        sector: id.into(),
        created_at: now,
        updated_at: now,
        disabled_at: None,
        service_account_id: None,
    }
}

fn token(hash: &str, kind: TokenKind, grant: &str, account: i64, now: chrono::DateTime<Utc>) -> OidcToken {
    OidcToken {
        token_hash: hash.into(),
        kind,
        grant_id: grant.into(),
        client_id: "lib".into(),
        account_id: Some(account),
        scope: "openid profile".into(),
        auth_time: Some(now),
        sid: Some("sid1".into()),
        created_at: now,
        expires_at: now + Duration::minutes(15),
        used_at: None,
        revoked_at: None,
    }
}

/// A seeded database with a citizen and the library's client: the citizen's id, and the time.
async fn with_library(db: &Arc<dyn Database>) -> (i64, chrono::DateTime<Utc>) {
    seeded(db).await;
    let (account, _) = citizen(db, "001303012345").await;
    let now = Utc::now().trunc_subsecs(3);
    let mut w = db.begin().await.unwrap();
    w.create_oidc_client(&client("lib", now)).await.unwrap();
    w.commit().await.unwrap();
    (account, now)
}

/// Takes one code.
async fn take(w: &mut Box<dyn Repo>, hash: &str, now: chrono::DateTime<Utc>) -> CodeTake {
    w.take_oidc_codes(&[hash.to_owned()], now).await.unwrap().remove(0).take
}

#[tokio::test]
async fn oidc_clients_consents_codes_token_families_and_keys() {
    for (backend, db) in fresh_databases().await {
        let (account, now) = with_library(&db).await;
        let mut dup = db.begin().await.unwrap();
        assert!(matches!(dup.create_oidc_client(&client("lib", now)).await, Err(StoreError::Conflict(_))), "{backend}");
        drop(dup);
        let mut w = db.begin().await.unwrap();
        let mut c = w.get_oidc_client("lib").await.unwrap().unwrap();
        assert_eq!(c.redirect_uris, ["https://thuvien.example.vn/cb"], "{backend}");
        assert!(c.is_confidential() && c.allows_grant("refresh_token") && !c.allows_grant("client_credentials"));
        c.secret_hash = None;
        c.scopes.push("email".into());
        w.update_oidc_client(&c).await.unwrap();
        let c = w.get_oidc_client("lib").await.unwrap().unwrap();
        assert!(!c.is_confidential() && c.scopes.len() == 3, "{backend}");
        assert_eq!(w.list_oidc_clients().await.unwrap().len(), 1);
        assert!(w.get_oidc_client("nope").await.unwrap().is_none());

        // Consent is remembered per account and client, and can be withdrawn.
        assert!(w.get_oidc_consent(account, "lib").await.unwrap().is_none());
        w.set_oidc_consent(account, "lib", "openid profile", now).await.unwrap();
        w.set_oidc_consent(account, "lib", "email openid profile", now).await.unwrap();
        let consent = w.get_oidc_consent(account, "lib").await.unwrap().unwrap();
        assert_eq!(consent.scopes, "email openid profile", "{backend}");
        assert_eq!(consent.client_name, "Thư viện Hà Nội");
        assert_eq!(w.list_oidc_consents(account).await.unwrap().len(), 1);

        // A code is taken once; the second take reports reuse.
        let code = OidcCode {
            code_hash: "c1".into(),
            grant_id: "g1".into(),
            client_id: "lib".into(),
            account_id: account,
            redirect_uri: "https://thuvien.example.vn/cb".into(),
            scope: "openid".into(),
            nonce: Some("n".into()),
            code_challenge: Some("x".repeat(43)),
            auth_time: now,
            sid: "sid1".into(),
            created_at: now,
            expires_at: now + Duration::seconds(60),
            used_at: None,
        };
        w.insert_oidc_codes(std::slice::from_ref(&code)).await.unwrap();
        w.commit().await.unwrap();

        let mut w = db.begin().await.unwrap();
        let CodeTake::Fresh(got) = take(&mut w, "c1", now).await else { panic!("{backend}: fresh") };
        assert_eq!((got.nonce.as_deref(), got.auth_time, got.expires_at), (Some("n"), now, now + Duration::seconds(60)), "{backend}");
        assert!(matches!(take(&mut w, "c1", now).await, CodeTake::Reused(c) if c.grant_id == "g1"), "{backend}");
        assert!(matches!(take(&mut w, "zz", now).await, CodeTake::Missing), "{backend}");

        // A refresh-token family: rotation marks the old one used; revoking the grant ends all.
        w.insert_oidc_token(&token("a1", TokenKind::Access, "g1", account, now)).await.unwrap();
        w.insert_oidc_token(&token("r1", TokenKind::Refresh, "g1", account, now)).await.unwrap();
        w.insert_oidc_token(&token("other", TokenKind::Access, "g2", account, now)).await.unwrap();
        assert!(w.use_oidc_refresh_token("r1", now).await.unwrap(), "{backend}");
        assert!(!w.use_oidc_refresh_token("r1", now).await.unwrap(), "{backend}: a second use is refused");
        assert!(!w.use_oidc_refresh_token("a1", now).await.unwrap(), "{backend}: access tokens do not refresh");
        let r1 = w.find_oidc_token("r1").await.unwrap().unwrap();
        assert!(r1.used_at.is_some() && !r1.is_live(now) && r1.kind == TokenKind::Refresh, "{backend}");
        assert!(w.find_oidc_token("a1").await.unwrap().unwrap().is_live(now));
        assert_eq!(w.revoke_oidc_grant("g1", now).await.unwrap(), 2, "{backend}");
        assert!(!w.find_oidc_token("a1").await.unwrap().unwrap().is_live(now));
        assert!(w.find_oidc_token("other").await.unwrap().unwrap().is_live(now), "{backend}: other grants untouched");
        assert!(w.revoke_oidc_token("other", now).await.unwrap());
        assert!(!w.revoke_oidc_token("other", now).await.unwrap());

        // Withdrawing consent revokes the client's live tokens for the account.
        w.insert_oidc_token(&token("a2", TokenKind::Access, "g3", account, now)).await.unwrap();
        assert!(w.revoke_oidc_consent(account, "lib", now).await.unwrap());
        assert!(!w.find_oidc_token("a2").await.unwrap().unwrap().is_live(now), "{backend}");
        assert!(w.get_oidc_consent(account, "lib").await.unwrap().is_none());

        // Expired codes and tokens are purged.
        assert_eq!(w.purge_oidc(now + Duration::hours(1)).await.unwrap(), 5, "{backend}");

        // Keys: a retired key stays published until its tokens have expired.
        let key = |kid: &str, at| OidcKey {
            kid: kid.into(),
            alg: "ES256".into(),
            public_jwk: serde_json::json!({"kty": "EC", "kid": kid}),
            sealed_key: vec![1, 2, 3],
            created_at: at,
            retired_at: None,
            publish_until: None,
        };
        w.add_oidc_key(&key("k1", now - Duration::days(1))).await.unwrap();
        w.add_oidc_key(&key("k2", now)).await.unwrap();
        assert_eq!(w.retire_oidc_keys("k2", now, now + Duration::minutes(20)).await.unwrap(), 1, "{backend}");
        let keys = w.list_oidc_keys(now).await.unwrap();
        assert_eq!(keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), ["k2", "k1"], "{backend}");
        assert!(keys[0].retired_at.is_none() && keys[1].publish_until == Some(now + Duration::minutes(20)));
        assert_eq!(keys[1].sealed_key, [1, 2, 3]);
        let later = w.list_oidc_keys(now + Duration::minutes(21)).await.unwrap();
        assert_eq!(later.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), ["k2"], "{backend}");
        w.commit().await.unwrap();
    }
}

fn code(hash: &str, grant: &str, account: i64, now: chrono::DateTime<Utc>) -> OidcCode {
    OidcCode {
        code_hash: hash.into(),
        grant_id: grant.into(),
        client_id: "lib".into(),
        account_id: account,
        redirect_uri: "https://thuvien.example.vn/cb".into(),
        scope: "openid profile".into(),
        nonce: None,
        code_challenge: None,
        auth_time: now,
        sid: "sid1".into(),
        created_at: now,
        expires_at: now + Duration::seconds(60),
        used_at: None,
    }
}

/// What each take found, with the code's grant.
fn shape(takes: &[tl_storage::oidc::BatchTake]) -> Vec<String> {
    takes
        .iter()
        .map(|t| match &t.take {
            CodeTake::Fresh(c) => format!("fresh {}", c.grant_id),
            CodeTake::Reused(c) => format!("reused {}", c.grant_id),
            CodeTake::Missing => "missing".into(),
        })
        .collect()
}

/// The token endpoint's group commit: a batch of codes taken in one statement behaves as if they
/// were taken one after another, tokens and audit entries go in several at a time, and the cache
/// generation moves with every change a cached answer depends on — and only then.
#[tokio::test]
async fn oidc_batches_and_the_cache_generation() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (a, _) = citizen(&db, "001303012345").await;
        let (b, _) = citizen(&db, "001303054321").await;
        let now = Utc::now().trunc_subsecs(3);
        let epoch = |db: std::sync::Arc<dyn Database>| async move { db.read().await.unwrap().oidc_epoch().await.unwrap() };
        let e0 = epoch(db.clone()).await;
        let mut w = db.begin().await.unwrap();
        w.create_oidc_client(&client("lib", now)).await.unwrap();
        for (h, g, who) in [("c1", "g1", a), ("c2", "g2", b), ("c3", "g3", a), ("old", "g0", b)] {
            w.insert_oidc_codes(&[code(h, g, who, now)]).await.unwrap();
        }
        w.commit().await.unwrap();
        let mut w = db.begin().await.unwrap();
        assert!(matches!(w.take_oidc_codes(&["old".into()], now).await.unwrap()[0].take, CodeTake::Fresh(_)));
        w.commit().await.unwrap();

        // Order kept; a code twice in the batch is fresh once, then reused; one used before is
        // reused; an unknown one missing.
        let hashes: Vec<String> = ["c2", "nope", "c1", "old", "c2", "c3"].iter().map(|s| s.to_string()).collect();
        let mut w = db.begin().await.unwrap();
        let takes = w.take_oidc_codes(&hashes, now).await.unwrap();
        assert_eq!(shape(&takes), ["fresh g2", "missing", "fresh g1", "reused g0", "reused g2", "fresh g3"], "{backend}");
        let CodeTake::Fresh(c1) = &takes[2].take else { unreachable!() };
        assert_eq!((c1.account_id, c1.scope.as_str(), c1.auth_time), (a, "openid profile", now), "{backend}");
        // The account's status comes with each fresh code.
        assert!(takes[0].account_active && takes[2].account_active && !takes[3].account_active, "{backend}");
        // All burnt for good.
        let again = w.take_oidc_codes(&["c1".into(), "c3".into()], now).await.unwrap();
        assert!(again.iter().all(|t| matches!(t.take, CodeTake::Reused(_))), "{backend}");
        assert!(w.take_oidc_codes(&[], now).await.unwrap().is_empty());

        // Many tokens and audit entries in one go (more than one statement's worth).
        let tokens: Vec<OidcToken> = (0..450)
            .map(|i| token(&format!("t{i}"), if i % 2 == 0 { TokenKind::Access } else { TokenKind::Refresh }, "g1", a, now))
            .collect();
        w.insert_oidc_tokens(&tokens, &[]).await.unwrap();
        let t7 = w.find_oidc_token("t7").await.unwrap().unwrap();
        assert_eq!(
            (t7.kind, t7.grant_id.as_str(), t7.account_id, t7.expires_at),
            (TokenKind::Refresh, "g1", Some(a), now + Duration::minutes(15))
        );
        assert!(w.find_oidc_token("t449").await.unwrap().is_some(), "{backend}");
        let entries: Vec<AuditEntry> = (0..310)
            .map(|i| AuditEntry {
                at: now,
                actor_id: Some(a),
                actor_label: "oidc:lib".into(),
                action: "oidc.token_issued".into(),
                target_type: "oidc_client".into(),
                target_id: format!("batch-{i}"),
                detail: serde_json::json!({"i": i}),
                ip: Some("127.0.0.1".into()),
                request_id: None,
            })
            .collect();
        w.append_audits(&entries).await.unwrap();
        let logged = w.list_audit(Some("oidc_client"), None, 1000).await.unwrap();
        assert_eq!(logged.iter().filter(|r| r.target_id.starts_with("batch-")).count(), 310, "{backend}");
        // Tokens with their audit entries, in uneven numbers (the statements pair them up),
        // and entries alone.
        let more: Vec<OidcToken> = (0..70).map(|i| token(&format!("u{i}"), TokenKind::Access, "g1", a, now)).collect();
        let with: Vec<AuditEntry> = (0..40)
            .map(|i| AuditEntry { target_id: format!("with-{i}"), detail: serde_json::json!({"n": i}), ..entries[0].clone() })
            .collect();
        w.insert_oidc_tokens(&more, &with).await.unwrap();
        w.insert_oidc_tokens(&[], &with[..3]).await.unwrap();
        for t in ["u0", "u31", "u32", "u69"] {
            assert!(w.find_oidc_token(t).await.unwrap().is_some(), "{backend}: {t}");
        }
        let logged = w.list_audit(Some("oidc_client"), None, 1000).await.unwrap();
        let with_rows: Vec<_> = logged.iter().filter(|r| r.target_id.starts_with("with-")).collect();
        assert_eq!(with_rows.len(), 43, "{backend}");
        let w39 = with_rows.iter().find(|r| r.target_id == "with-39").unwrap();
        assert_eq!(
            (w39.detail["n"].as_i64(), w39.action.as_str(), w39.ip.as_deref()),
            (Some(39), "oidc.token_issued", Some("127.0.0.1")),
            "{backend}"
        );
        // Newest first: the batches went in in order.
        assert_eq!(logged[0].target_id, "with-2", "{backend}");
        assert_eq!(logged.iter().find(|r| r.target_id.starts_with("batch-")).unwrap().target_id, "batch-309", "{backend}");
        w.commit().await.unwrap();
        // Issuing tokens and burning codes leave cached answers right: the generation stays.
        assert_eq!(epoch(db.clone()).await, e0, "{backend}: issuing moved the generation");

        // Each change a cached answer depends on moves it, once committed.
        async fn change(w: &mut Box<dyn Repo>, what: &str, b: i64) {
            let now = Utc::now();
            match what {
                "a revoked token" => assert!(w.revoke_oidc_token("t0", now).await.unwrap()),
                "a revoked grant" => assert!(w.revoke_oidc_grant("g1", now).await.unwrap() > 0),
                "a disabled account" => w.set_account_status(b, AccountStatus::Disabled, now).await.unwrap(),
                "a suspended client" => {
                    let mut c = w.get_oidc_client("lib").await.unwrap().unwrap();
                    c.disabled_at = Some(now);
                    w.update_oidc_client(&c).await.unwrap();
                }
                _ => assert!(w.purge_oidc(now + Duration::days(40)).await.unwrap() > 0),
            }
        }
        let mut last = e0;
        for what in ["a revoked token", "a revoked grant", "a disabled account", "a suspended client", "purged tokens"] {
            let mut w = db.begin().await.unwrap();
            change(&mut w, what, b).await;
            drop(w);
            assert_eq!(epoch(db.clone()).await, last, "{backend}: {what} rolled back moved the generation");
            let mut w = db.begin().await.unwrap();
            change(&mut w, what, b).await;
            w.commit().await.unwrap();
            let now_epoch = epoch(db.clone()).await;
            assert!(now_epoch > last, "{backend}: {what} did not move the generation");
            last = now_epoch;
        }
        // A code of the account disabled above is taken, and says its account is not active.
        let mut w = db.begin().await.unwrap();
        w.insert_oidc_codes(&[code("c9", "g9", b, now), code("c10", "g10", a, now)]).await.unwrap();
        let takes = w.take_oidc_codes(&["c9".into(), "c10".into()], now).await.unwrap();
        assert!(matches!(takes[0].take, CodeTake::Fresh(_)) && !takes[0].account_active, "{backend}");
        assert!(matches!(takes[1].take, CodeTake::Fresh(_)) && takes[1].account_active, "{backend}");
        w.commit().await.unwrap();
        let last = epoch(db.clone()).await;
        // A sign-in (last login, failure count) does not.
        let mut w = db.begin().await.unwrap();
        w.record_login_success(a, Utc::now()).await.unwrap();
        w.record_login_failure(a, None).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(epoch(db.clone()).await, last, "{backend}: a sign-in moved the generation");
    }
}

/// A batch told that another waits (`keep_writer`) hands the SQLite writer to the next batch
/// instead of giving it back — but at most 16 times in a row, so the process's other writers
/// still get their turn while the token endpoint is busy; with no batch waiting it is given back.
#[tokio::test]
async fn a_busy_token_task_keeps_the_writer_for_a_bounded_number_of_batches() {
    for (backend, db) in fresh_databases().await {
        let (a, now) = with_library(&db).await;
        let wait = std::time::Duration::from_millis(200);
        let batch = |n: usize, keep: bool| {
            let db = db.clone();
            async move {
                let mut w = db.begin_code_batch().await.unwrap();
                w.insert_oidc_codes(&[code(&format!("k{n}"), &format!("gk{n}"), a, now)]).await.unwrap();
                if keep {
                    w.keep_writer();
                }
                (w.commit_deferred().await.unwrap())().unwrap();
            }
        };
        // Kept for a next batch: meanwhile nobody else writes (SQLite; PostgreSQL has no such writer).
        batch(0, true).await;
        let other = tokio::time::timeout(wait, db.begin()).await;
        assert_eq!(other.is_err(), backend == "sqlite", "{backend}: the writer was kept for the next batch");
        drop(other);
        // The next batch, with nobody after it, gives it back.
        batch(1, false).await;
        let mut w = tokio::time::timeout(wait, db.begin()).await.expect("the writer was given back").unwrap();
        assert!(matches!(w.take_oidc_codes(&["k0".into()], now).await.unwrap()[0].take, CodeTake::Fresh(_)), "{backend}");
        w.commit().await.unwrap();
        // Busy without end: given back after at most 16 batches in a row.
        for n in 2..19 {
            batch(n, true).await;
        }
        let mut w = tokio::time::timeout(wait, db.begin()).await.expect("a busy token task still lets other writers in").unwrap();
        assert!(matches!(w.take_oidc_codes(&["k18".into()], now).await.unwrap()[0].take, CodeTake::Fresh(_)), "{backend}");
        w.commit().await.unwrap();
    }
}

/// The token task's transaction (`Database::begin_code_batch`; on SQLite a connection of its own,
/// driven in place): the same rules as the repository's, its rows readable by every other
/// reader, nothing kept when it is dropped, and on SQLite no other writer of the process beside
/// it.
#[tokio::test]
async fn the_token_task_batch_keeps_the_rules() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (a, _) = citizen(&db, "001303012345").await;
        let (b, _) = citizen(&db, "001303054321").await;
        let now = Utc::now().trunc_subsecs(3);
        let mut w = db.begin().await.unwrap();
        w.create_oidc_client(&client("lib", now)).await.unwrap();
        w.commit().await.unwrap();
        let mut nonce_code = code("c3", "g3", a, now);
        nonce_code.nonce = Some("n-ở-đây".into());
        nonce_code.code_challenge = Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into());
        let mut w = db.begin_code_batch().await.unwrap();
        w.insert_oidc_codes(&[code("c1", "g1", a, now), code("c2", "g2", b, now), nonce_code.clone(), code("old", "g0", b, now)])
            .await
            .unwrap();
        (w.commit_deferred().await.unwrap())().unwrap();
        let mut w = db.begin_code_batch().await.unwrap();
        assert!(matches!(w.take_oidc_codes(&["old".into()], now).await.unwrap()[0].take, CodeTake::Fresh(_)));
        (w.commit_deferred().await.unwrap())().unwrap();

        let issued = AuditEntry {
            at: now,
            actor_id: Some(a),
            actor_label: "oidc:lib".into(),
            action: "oidc.token_issued".into(),
            target_type: "oidc_client".into(),
            target_id: "lib".into(),
            detail: serde_json::json!({"scope": "openid profile", "tên": "Bình"}),
            ip: Some("203.0.113.7".into()),
            request_id: None,
        };
        // An audit row written beside the batches, before them: the sealer links it later.
        let mut aside = db.begin().await.unwrap();
        aside.append_audit(&AuditEntry { action: "client.viewed".into(), ..issued.clone() }).await.unwrap();
        aside.commit().await.unwrap();

        // While a batch is open on SQLite, another writer of this process waits for it.
        let mut w = db.begin_code_batch().await.unwrap();
        if backend == "sqlite" {
            let other = tokio::time::timeout(std::time::Duration::from_millis(300), db.begin()).await;
            assert!(other.is_err(), "a writer ran beside the token batch");
        }
        let hashes: Vec<String> = ["c2", "nope", "c1", "old", "c2", "c3"].iter().map(|s| s.to_string()).collect();
        let takes = w.take_oidc_codes(&hashes, now).await.unwrap();
        assert_eq!(shape(&takes), ["fresh g2", "missing", "fresh g1", "reused g0", "reused g2", "fresh g3"], "{backend}");
        assert!(takes[0].account_active && takes[2].account_active && !takes[3].account_active, "{backend}");
        let CodeTake::Fresh(c3) = &takes[5].take else { unreachable!() };
        assert_eq!(
            (c3.nonce.as_deref(), c3.code_challenge.as_deref(), c3.auth_time, c3.expires_at, c3.used_at),
            (nonce_code.nonce.as_deref(), nonce_code.code_challenge.as_deref(), now, now + Duration::seconds(60), Some(now)),
            "{backend}"
        );
        let tokens = [
            token("ta", TokenKind::Access, "g1", a, now),
            token("tr", TokenKind::Refresh, "g1", a, now),
            token("tb", TokenKind::Access, "g2", b, now),
        ];
        w.insert_oidc_tokens(&tokens, std::slice::from_ref(&issued)).await.unwrap();
        assert_eq!(w.revoke_oidc_grant("g2", now).await.unwrap(), 1, "{backend}");
        assert_eq!(w.revoke_oidc_grant("g2", now).await.unwrap(), 0, "{backend}");
        w.append_audits(&[AuditEntry { action: "oidc.code_reused".into(), ..issued.clone() }]).await.unwrap();
        (w.commit_deferred().await.unwrap())().unwrap();

        // Everything the batch wrote reads back through the ordinary repository.
        let mut r = db.read().await.unwrap();
        let tr = r.find_oidc_token("tr").await.unwrap().unwrap();
        assert_eq!(
            (tr.kind, tr.grant_id.as_str(), tr.account_id, tr.auth_time, tr.created_at, tr.expires_at, tr.revoked_at),
            (TokenKind::Refresh, "g1", Some(a), Some(now), now, now + Duration::minutes(15), None),
            "{backend}"
        );
        assert!(r.find_oidc_token("tb").await.unwrap().unwrap().revoked_at.is_some(), "{backend}");
        // The grant's sealed access tokens are revoked with it (the batch's revocation row).
        let found = r.oidc_revocations(&[revocation::grant("g2"), revocation::grant("g1")]).await.unwrap();
        assert_eq!(found, [(revocation::grant("g2"), now)], "{backend}");
        let logged = r.list_audit(Some("oidc_client"), None, 10).await.unwrap();
        let actions: Vec<&str> = logged.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["oidc.code_reused", "oidc.token_issued", "client.viewed"], "{backend}");
        assert_eq!((logged[1].detail["tên"].as_str(), logged[1].ip.as_deref()), (Some("Bình"), Some("203.0.113.7")), "{backend}");
        drop(r);

        // Dropped without a commit: nothing kept, and the next batch works.
        let mut w = db.begin_code_batch().await.unwrap();
        w.insert_oidc_codes(&[code("gone", "g8", a, now)]).await.unwrap();
        w.insert_oidc_tokens(&[token("tgone", TokenKind::Access, "g8", a, now)], std::slice::from_ref(&issued)).await.unwrap();
        drop(w);
        let mut w = db.begin_code_batch().await.unwrap();
        assert!(matches!(w.take_oidc_codes(&["gone".into()], now).await.unwrap()[0].take, CodeTake::Missing), "{backend}");
        // A failing statement (a client that does not exist) fails the batch, not the task.
        let mut stray = code("stray", "g7", a, now);
        stray.client_id = "no-such-client".into();
        assert!(w.insert_oidc_codes(&[stray]).await.is_err(), "{backend}");
        drop(w);
        assert!(db.read().await.unwrap().find_oidc_token("tgone").await.unwrap().is_none(), "{backend}");
        let mut w = db.begin_code_batch().await.unwrap();
        w.insert_oidc_codes(&[code("after", "g6", a, now)]).await.unwrap();
        (w.commit_deferred().await.unwrap())().unwrap();
        let mut w = db.begin().await.unwrap();
        assert!(matches!(w.take_oidc_codes(&["after".into()], now).await.unwrap()[0].take, CodeTake::Fresh(_)), "{backend}");
        w.append_audit(&AuditEntry { action: "client.viewed".into(), ..issued.clone() }).await.unwrap();
        w.commit().await.unwrap();
        let mut w = db.begin_code_batch().await.unwrap();
        w.append_audits(&[issued.clone(), issued.clone()]).await.unwrap();
        (w.commit_deferred().await.unwrap())().unwrap();
        // Tokens without audit rows leave the chain as it is.
        let mut w = db.begin_code_batch().await.unwrap();
        w.insert_oidc_tokens(&[token("tquiet", TokenKind::Access, "g6", a, now)], &[]).await.unwrap();
        (w.commit_deferred().await.unwrap())().unwrap();

        // The batches' audit rows are linked as they are written; only the two written beside
        // them wait for the sealer.
        let before = tl_storage::chain::verify(db.as_ref(), tl_storage::chain::Chain::Audit).await.unwrap();
        assert_eq!((before.broken.as_ref().map(|b| b.problem.as_str()), before.checked, before.unsealed), (None, 4, 2), "{backend}");
        // Every audit row is in the chain once sealed — the batches' and those written beside
        // them, whatever the order — and it verifies; the rolled-back batch's row is in neither.
        tl_storage::chain::seal_audit(db.as_ref()).await.unwrap();
        let rows = db.read().await.unwrap().list_audit(None, None, 1000).await.unwrap().len();
        assert_eq!(rows, 6, "{backend}");
        let report = tl_storage::chain::verify(db.as_ref(), tl_storage::chain::Chain::Audit).await.unwrap();
        assert_eq!((report.broken.as_ref().map(|b| b.problem.as_str()), report.checked, report.unsealed), (None, 6, 0), "{backend}");
    }
}

/// Sealed access tokens are not stored; what revokes them is: a grant, one token, or a person's
/// consent to a client up to a time. Each is found again by its key, made again it moves to the
/// later time, and it is purged once every token it could revoke has expired.
#[tokio::test]
async fn revocations_of_sealed_access_tokens() {
    for (backend, db) in fresh_databases().await {
        let (a, now) = with_library(&db).await;
        let epoch = db.read().await.unwrap().oidc_epoch().await.unwrap();
        let keys = [revocation::grant("g1"), revocation::token("k1"), revocation::consent(a, "lib"), revocation::grant("g2")];

        let mut w = db.begin().await.unwrap();
        w.revoke_oidc_access(&keys[1], now).await.unwrap();
        assert_eq!(w.revoke_oidc_grant("g1", now).await.unwrap(), 0, "{backend}: no stored token");
        w.set_oidc_consent(a, "lib", "openid", now).await.unwrap();
        assert!(w.revoke_oidc_consent(a, "lib", now).await.unwrap(), "{backend}");
        w.commit().await.unwrap();
        let mut r = db.read().await.unwrap();
        let mut found = r.oidc_revocations(&keys).await.unwrap();
        found.sort();
        let mut want = vec![(keys[0].clone(), now), (keys[1].clone(), now), (keys[2].clone(), now)];
        want.sort();
        assert_eq!(found, want, "{backend}");
        assert!(r.oidc_revocations(&[]).await.unwrap().is_empty(), "{backend}");
        assert!(r.oidc_epoch().await.unwrap() > epoch, "{backend}: servers drop their cached answers");
        drop(r);

        // A consent withdrawn again later: tokens issued in between are revoked too.
        let later = now + Duration::minutes(5);
        let mut w = db.begin().await.unwrap();
        w.revoke_oidc_access(&keys[2], later).await.unwrap();
        w.commit().await.unwrap();
        let found = db.read().await.unwrap().oidc_revocations(&keys[2..3]).await.unwrap();
        assert_eq!(found, [(keys[2].clone(), later)], "{backend}");

        // Kept until no token it revokes can live, then purged.
        let mut w = db.begin().await.unwrap();
        w.purge_oidc(now + Duration::minutes(30)).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(db.read().await.unwrap().oidc_revocations(&keys).await.unwrap().len(), 3, "{backend}: still needed");
        let mut w = db.begin().await.unwrap();
        w.purge_oidc(later + tl_storage::ACCESS_TOKEN_MAX_LIFETIME + Duration::seconds(1)).await.unwrap();
        w.commit().await.unwrap();
        assert!(db.read().await.unwrap().oidc_revocations(&keys).await.unwrap().is_empty(), "{backend}: purged");
    }
}
