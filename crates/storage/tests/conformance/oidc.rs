//! The OpenID Connect provider's storage: clients, consents, single-use codes, refresh-token
//! families and published keys behave the same on both databases.

use super::*;

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

#[tokio::test]
async fn oidc_clients_consents_codes_token_families_and_keys() {
    for (backend, db) in fresh_databases().await {
        seeded(&db).await;
        let (account, _) = citizen(&db, "001303012345").await;
        let now = Utc::now().trunc_subsecs(3);
        let mut w = db.begin().await.unwrap();
        w.create_oidc_client(&client("lib", now)).await.unwrap();
        w.commit().await.unwrap();
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
        w.insert_oidc_code(&code).await.unwrap();
        w.commit().await.unwrap();

        let mut w = db.begin().await.unwrap();
        let CodeTake::Fresh(got) = w.take_oidc_code("c1", now).await.unwrap() else { panic!("{backend}: fresh") };
        assert_eq!((got.nonce.as_deref(), got.auth_time, got.expires_at), (Some("n"), now, now + Duration::seconds(60)), "{backend}");
        assert!(matches!(w.take_oidc_code("c1", now).await.unwrap(), CodeTake::Reused(c) if c.grant_id == "g1"), "{backend}");
        assert!(matches!(w.take_oidc_code("zz", now).await.unwrap(), CodeTake::Missing), "{backend}");

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
