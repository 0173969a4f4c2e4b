//! The `aws_asg` driver: each pool is an EC2 Auto Scaling group.
//!
//! | call | AWS API action |
//! |---|---|
//! | instances | `DescribeAutoScalingGroups` for the group's members, then EC2 `DescribeInstances` for their private addresses |
//! | set_target | `SetDesiredCapacity` (`HonorCooldown=false`) |
//! | remove | `TerminateInstanceInAutoScalingGroup` with `ShouldDecrementDesiredCapacity=true`, one per named instance |
//!
//! Calls are the Query APIs over HTTPS (or plain HTTP for a local endpoint), signed
//! with Signature Version 4. The credentials are, as the AWS SDKs find them, the
//! standard environment variables `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN` (read at every call, so rotated keys take effect), else the
//! instance role's from the EC2 instance metadata service (IMDSv2, at
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT` or 169.254.169.254; off with
//! `AWS_EC2_METADATA_DISABLED=true`), kept until five minutes before they expire. An
//! instance's address is its private IPv4 address and the configured port; its
//! region is the group's AWS region. Members that are terminating, detaching or
//! have no address yet are left out. Throttling is `RateLimited`, 5xx answers,
//! timeouts and connection failures `Transient`, a desired count above the group's
//! `MaxSize` `OutOfCapacity`, anything else `Permanent`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use ring::{digest, hmac};
use tokio::net::TcpStream;

use crate::driver::{Driver, DriverError, OpId};
use crate::error::ScalerError;
use crate::instance::{Instance, InstanceId, InstanceState};

/// The Auto Scaling Query API version.
const AUTOSCALING_VERSION: &str = "2011-01-01";

/// The EC2 Query API version.
const EC2_VERSION: &str = "2016-11-15";

/// The instance metadata service of EC2.
const IMDS: &str = "http://169.254.169.254";

/// How long one call to the instance metadata service may take.
const IMDS_TIMEOUT: Duration = Duration::from_secs(2);

/// Instance-role credentials are fetched again this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// The form body's media type, as signed.
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Where the groups are and how to reach them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsAsgConfig {
    /// The AWS region, e.g. `eu-west-1`.
    pub region: String,
    /// The group's name; `{pool}` in it is replaced by the pool's name.
    pub group: String,
    /// The port the instances serve on.
    pub port: u16,
    /// The Auto Scaling endpoint; `https://autoscaling.{region}.amazonaws.com` when unset.
    pub endpoint: Option<String>,
    /// The EC2 endpoint; `https://ec2.{region}.amazonaws.com` when unset.
    pub ec2_endpoint: Option<String>,
    /// Longest one API call may take.
    pub timeout: Duration,
}

impl AwsAsgConfig {
    /// Groups named after their pools in `region`, serving on `port`, 10 s per call.
    pub fn new(region: impl Into<String>, port: u16) -> Self {
        Self {
            region: region.into(),
            group: "{pool}".to_owned(),
            port,
            endpoint: None,
            ec2_endpoint: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// One AWS service endpoint.
#[derive(Clone, Debug)]
struct Endpoint {
    /// The service name in the credential scope: `autoscaling` or `ec2`.
    service: &'static str,
    https: bool,
    /// The `Host` header, as signed.
    host: String,
    /// Where to connect.
    server: (String, u16),
}

impl Endpoint {
    fn parse(service: &'static str, url: &str) -> Result<Self, ScalerError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| ScalerError::invalid(service, url, format!("not a URL ({e})")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(ScalerError::invalid(
                    service,
                    url,
                    "use an https:// or http:// URL",
                ))
            }
        };
        let (Some(host), Some(authority)) = (uri.host(), uri.authority()) else {
            return Err(ScalerError::invalid(service, url, "the URL needs a host"));
        };
        if !matches!(uri.path(), "" | "/") {
            return Err(ScalerError::invalid(
                service,
                url,
                "give the endpoint without a path",
            ));
        }
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Self {
            service,
            https,
            host: authority.as_str().to_owned(),
            server: (host.trim_matches(['[', ']']).to_owned(), port),
        })
    }
}

/// Scales EC2 Auto Scaling groups.
pub struct AwsAsgDriver {
    name: String,
    config: AwsAsgConfig,
    autoscaling: Endpoint,
    ec2: Endpoint,
    tls: tokio_rustls::TlsConnector,
    /// The instance metadata service; `None` when switched off.
    imds: Option<Endpoint>,
    /// The instance role's credentials and when they expire.
    role: tokio::sync::Mutex<Option<(Credentials, SystemTime)>>,
}

impl fmt::Debug for AwsAsgDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsAsgDriver")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The signing credentials of one call.
#[derive(Clone)]
struct Credentials {
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
}

impl Credentials {
    /// The standard environment variables, read now, when they are set.
    fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Some(Self {
            access_key: var("AWS_ACCESS_KEY_ID")?,
            secret_key: var("AWS_SECRET_ACCESS_KEY")?,
            session_token: var("AWS_SESSION_TOKEN"),
        })
    }
}

/// The instance role's credentials as the metadata service gives them.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleCredentials {
    access_key_id: String,
    secret_access_key: String,
    token: String,
    expiration: String,
}

impl AwsAsgDriver {
    /// An aws_asg driver named `name`.
    pub fn new(name: impl Into<String>, config: AwsAsgConfig) -> Result<Self, ScalerError> {
        if config.region.is_empty() {
            return Err(ScalerError::invalid(
                "region",
                "",
                "name the AWS region, e.g. \"eu-west-1\"",
            ));
        }
        if config.timeout.is_zero() {
            return Err(ScalerError::invalid(
                "timeout",
                "0s",
                "give each API call time, e.g. \"10s\"",
            ));
        }
        let default = |service: &str| format!("https://{service}.{}.amazonaws.com", config.region);
        let autoscaling = Endpoint::parse(
            "autoscaling",
            config
                .endpoint
                .as_deref()
                .unwrap_or(&default("autoscaling")),
        )?;
        let ec2 = Endpoint::parse(
            "ec2",
            config.ec2_endpoint.as_deref().unwrap_or(&default("ec2")),
        )?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(
            rustls_native_certs::load_native_certs().unwrap_or_default(),
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ScalerError::invalid("tls", "", e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let imds_off = std::env::var("AWS_EC2_METADATA_DISABLED")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let imds = if imds_off {
            None
        } else {
            let url = std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| IMDS.to_owned());
            Some(Endpoint::parse("ec2", url.trim_end_matches('/'))?)
        };
        Ok(Self {
            name: name.into(),
            config,
            autoscaling,
            ec2,
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            imds,
            role: tokio::sync::Mutex::new(None),
        })
    }

    /// The credentials of the next call: the environment's, else the instance
    /// role's (cached until shortly before they expire).
    async fn credentials(&self) -> Result<Credentials, DriverError> {
        if let Some(credentials) = Credentials::from_env() {
            return Ok(credentials);
        }
        let Some(imds) = &self.imds else {
            return Err(DriverError::Permanent(
                "aws_asg driver: no AWS credentials; set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or \
                 give the instance a role and leave the metadata service on"
                    .to_owned(),
            ));
        };
        let mut role = self.role.lock().await;
        if let Some((credentials, expires)) = role.as_ref() {
            if SystemTime::now() + REFRESH_BEFORE_EXPIRY < *expires {
                return Ok(credentials.clone());
            }
        }
        let fetched = tokio::time::timeout(3 * IMDS_TIMEOUT, self.role_credentials(imds))
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()))
            .map_err(|e| {
                DriverError::Transient(format!(
                    "aws_asg driver: no AWS credentials in the environment, and none from \
                     the instance metadata service at {}: {e}",
                    imds.host
                ))
            })?;
        *role = Some(fetched.clone());
        Ok(fetched.0)
    }

    /// One call to the metadata service: with `token` (IMDSv2's session
    /// token), or without it to ask for one.
    async fn imds_call(
        &self,
        imds: &Endpoint,
        method: http::Method,
        path: &str,
        token: Option<&str>,
    ) -> Result<String, String> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &imds.host);
        let request = match token {
            Some(token) => request.header("x-aws-ec2-metadata-token", token),
            None => request.header("x-aws-ec2-metadata-token-ttl-seconds", "21600"),
        };
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let (status, body) = tokio::time::timeout(IMDS_TIMEOUT, self.send(imds, request))
            .await
            .map_err(|_| format!("{path} timed out"))??;
        if !status.is_success() {
            return Err(format!("{path} answered {status}"));
        }
        Ok(String::from_utf8_lossy(&body).trim().to_owned())
    }

    /// Fetches the instance role's credentials from the metadata service (IMDSv2).
    async fn role_credentials(&self, imds: &Endpoint) -> Result<(Credentials, SystemTime), String> {
        let token = self
            .imds_call(imds, http::Method::PUT, "/latest/api/token", None)
            .await?;
        let path = "/latest/meta-data/iam/security-credentials/";
        let roles = self
            .imds_call(imds, http::Method::GET, path, Some(&token))
            .await?;
        let role = roles
            .lines()
            .next()
            .filter(|r| !r.is_empty())
            .ok_or("the instance has no role")?;
        let document = self
            .imds_call(
                imds,
                http::Method::GET,
                &format!("{path}{role}"),
                Some(&token),
            )
            .await?;
        let found: RoleCredentials =
            serde_json::from_str(&document).map_err(|e| format!("role {role}: {e}"))?;
        let expires = chrono::DateTime::parse_from_rfc3339(&found.expiration)
            .ok()
            .and_then(|t| u64::try_from(t.timestamp()).ok())
            .map_or(SystemTime::now(), |secs| {
                SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
            });
        let credentials = Credentials {
            access_key: found.access_key_id,
            secret_key: found.secret_access_key,
            session_token: Some(found.token),
        };
        Ok((credentials, expires))
    }

    /// The group that holds `pool`'s instances.
    fn group(&self, pool: &str) -> String {
        self.config.group.replace("{pool}", pool)
    }

    /// Calls `action` with `params` and returns the XML of a 2xx answer.
    async fn call(
        &self,
        endpoint: &Endpoint,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, DriverError> {
        let credentials = self.credentials().await?;
        let version = if endpoint.service == "ec2" {
            EC2_VERSION
        } else {
            AUTOSCALING_VERSION
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", action)
            .append_pair("Version", version)
            .extend_pairs(params)
            .finish();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let signed = sign(
            &credentials,
            endpoint,
            &self.config.region,
            now,
            body.as_bytes(),
        );
        // Origin form: the connection is already to the endpoint.
        let mut request = Request::post("/")
            .header(HOST, &endpoint.host)
            .header(CONTENT_TYPE, FORM)
            .header("x-amz-date", &signed.amz_date)
            .header(AUTHORIZATION, &signed.authorization);
        if let Some(token) = &credentials.session_token {
            request = request.header("x-amz-security-token", token);
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| {
            DriverError::Permanent(format!("aws_asg driver: building {action}: {e}"))
        })?;
        let what = format!("{action} at {}", endpoint.host);
        let exchange = self.send(endpoint, request);
        let (status, body) = match tokio::time::timeout(self.config.timeout, exchange).await {
            Err(_) => {
                return Err(DriverError::Transient(format!(
                    "aws_asg driver: {what} timed out after {}",
                    humantime::format_duration(self.config.timeout)
                )))
            }
            Ok(Err(e)) => {
                return Err(DriverError::Transient(format!(
                    "aws_asg driver: {what}: {e}"
                )))
            }
            Ok(Ok(answer)) => answer,
        };
        let text = String::from_utf8_lossy(&body).into_owned();
        if status.is_success() {
            return Ok(text);
        }
        Err(classify(status.as_u16(), &text, &what))
    }

    /// Sends one request on a new connection.
    async fn send(
        &self,
        endpoint: &Endpoint,
        request: Request<Full<Bytes>>,
    ) -> Result<(http::StatusCode, Bytes), String> {
        let tcp = TcpStream::connect((endpoint.server.0.as_str(), endpoint.server.1))
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        if endpoint.https {
            let name = rustls::pki_types::ServerName::try_from(endpoint.server.0.clone())
                .map_err(|e| format!("server name: {e}"))?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            exchange(TokioIo::new(tls), request).await
        } else {
            exchange(TokioIo::new(tcp), request).await
        }
    }

    /// The group's members as (id, lifecycle state).
    async fn members(&self, group: &str) -> Result<Vec<(String, String)>, DriverError> {
        let params = [(
            "AutoScalingGroupNames.member.1".to_owned(),
            group.to_owned(),
        )];
        let xml = self
            .call(&self.autoscaling, "DescribeAutoScalingGroups", &params)
            .await?;
        let document = parse(&xml)?;
        let Some(found) = document
            .descendants()
            .find(|n| n.has_tag_name("AutoScalingGroupName") && n.text() == Some(group))
            .and_then(|n| n.parent())
        else {
            return Err(DriverError::Permanent(format!(
                "aws_asg driver: no Auto Scaling group named {group:?} in {}",
                self.config.region
            )));
        };
        let members = found
            .children()
            .filter(|n| n.has_tag_name("Instances"))
            .flat_map(|list| list.children().filter(|n| n.has_tag_name("member")))
            .filter_map(|member| {
                let id = child_text(member, "InstanceId")?;
                let state = child_text(member, "LifecycleState").unwrap_or_default();
                Some((id.to_owned(), state.to_owned()))
            })
            .collect();
        Ok(members)
    }

    /// The private IPv4 address of each of `ids` that has one.
    async fn addresses(&self, ids: &[String]) -> Result<Vec<(String, IpAddr)>, DriverError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<(String, String)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("InstanceId.{}", i + 1), id.clone()))
            .collect();
        let xml = self.call(&self.ec2, "DescribeInstances", &params).await?;
        let document = parse(&xml)?;
        let found = document
            .descendants()
            .filter(|n| n.has_tag_name("instancesSet"))
            .flat_map(|set| set.children().filter(|n| n.has_tag_name("item")))
            .filter_map(|item| {
                let id = child_text(item, "instanceId")?;
                let ip = child_text(item, "privateIpAddress")?.parse().ok()?;
                Some((id.to_owned(), ip))
            })
            .collect();
        Ok(found)
    }
}

#[async_trait]
impl Driver for AwsAsgDriver {
    fn name(&self) -> &str {
        &self.name
    }

    async fn instances(&self, pool: &str) -> Result<Vec<Instance>, DriverError> {
        let members: Vec<String> = self
            .members(&self.group(pool))
            .await?
            .into_iter()
            .filter(|(_, state)| {
                !state.starts_with("Terminat") && !state.starts_with("Detach") && state != "Standby"
            })
            .map(|(id, _)| id)
            .collect();
        let addresses = self.addresses(&members).await?;
        Ok(members
            .into_iter()
            .filter_map(|id| {
                let ip = addresses.iter().find(|(known, _)| *known == id)?.1;
                Some(Instance {
                    id: InstanceId::new(id),
                    address: SocketAddr::new(ip, self.config.port),
                    region: Some(self.config.region.clone()),
                    state: InstanceState::Pending,
                })
            })
            .collect())
    }

    async fn set_target(&self, pool: &str, desired: u32, _op: &OpId) -> Result<(), DriverError> {
        let params = [
            ("AutoScalingGroupName".to_owned(), self.group(pool)),
            ("DesiredCapacity".to_owned(), desired.to_string()),
            ("HonorCooldown".to_owned(), "false".to_owned()),
        ];
        self.call(&self.autoscaling, "SetDesiredCapacity", &params)
            .await
            .map(drop)
    }

    async fn remove(&self, _pool: &str, ids: &[InstanceId], _op: &OpId) -> Result<(), DriverError> {
        for id in ids {
            let params = [
                ("InstanceId".to_owned(), id.as_str().to_owned()),
                (
                    "ShouldDecrementDesiredCapacity".to_owned(),
                    "true".to_owned(),
                ),
            ];
            match self
                .call(
                    &self.autoscaling,
                    "TerminateInstanceInAutoScalingGroup",
                    &params,
                )
                .await
            {
                // Already gone: removing it again is done.
                Err(DriverError::Permanent(message)) if message.contains("not found") => {}
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        }
        Ok(())
    }
}

/// Sends `request` over `io` with HTTP/1.1 and reads the whole answer.
async fn exchange<T>(
    io: TokioIo<T>,
    request: Request<Full<Bytes>>,
) -> Result<(http::StatusCode, Bytes), String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// An API error answer as a classified driver error (see the module docs).
fn classify(status: u16, body: &str, what: &str) -> DriverError {
    let (code, message) = parse(body)
        .ok()
        .map(|document| {
            let find = |tag: &str| {
                document
                    .descendants()
                    .find(|n| n.has_tag_name(tag))
                    .and_then(|n| n.text())
                    .unwrap_or_default()
                    .to_owned()
            };
            (find("Code"), find("Message"))
        })
        .unwrap_or_default();
    let text = format!("aws_asg driver: {what}: {status} {code}: {message}");
    match code.as_str() {
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => DriverError::RateLimited {
            message: text,
            retry_after: Duration::from_secs(1),
        },
        "ValidationError" if message.contains("above max") => DriverError::OutOfCapacity(text),
        "ScalingActivityInProgress" | "ResourceContention" => DriverError::Transient(text),
        _ if status >= 500 => DriverError::Transient(text),
        _ => DriverError::Permanent(text),
    }
}

/// An answer's XML.
fn parse(xml: &str) -> Result<roxmltree::Document<'_>, DriverError> {
    roxmltree::Document::parse(xml)
        .map_err(|e| DriverError::Permanent(format!("aws_asg driver: the answer is not XML: {e}")))
}

/// The text of `node`'s first child element named `tag`.
fn child_text<'a>(node: roxmltree::Node<'a, '_>, tag: &str) -> Option<&'a str> {
    node.children().find(|n| n.has_tag_name(tag))?.text()
}

/// The signature headers of one call.
#[derive(Debug, PartialEq, Eq)]
struct Signed {
    amz_date: String,
    authorization: String,
}

/// Signs a form POST to `endpoint` at Unix time `now` with Signature Version 4.
fn sign(
    credentials: &Credentials,
    endpoint: &Endpoint,
    region: &str,
    now: u64,
    body: &[u8],
) -> Signed {
    let time =
        chrono::DateTime::from_timestamp(i64::try_from(now).unwrap_or(0), 0).unwrap_or_default();
    let amz_date = time.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    let mut headers = vec![
        ("content-type", FORM.to_owned()),
        ("host", endpoint.host.clone()),
        ("x-amz-date", amz_date.clone()),
    ];
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token", token.clone()));
    }
    let signed_headers = headers
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{}\n", value.trim()))
        .collect();
    let canonical = format!(
        "POST\n/\n\n{canonical_headers}\n{signed_headers}\n{}",
        hex::encode(digest::digest(&digest::SHA256, body))
    );
    let scope = format!("{date}/{region}/{}/aws4_request", endpoint.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
    );
    let mac = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let key = mac(format!("AWS4{}", credentials.secret_key).as_bytes(), date);
    let key = mac(key.as_ref(), region);
    let key = mac(key.as_ref(), endpoint.service);
    let key = mac(key.as_ref(), "aws4_request");
    let signature = hex::encode(mac(key.as_ref(), &to_sign));
    Signed {
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key
        ),
        amz_date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_default_to_the_region_and_accept_a_local_url() {
        let driver = AwsAsgDriver::new("cloud", AwsAsgConfig::new("eu-west-1", 8080)).unwrap();
        assert_eq!(
            driver.autoscaling.host,
            "autoscaling.eu-west-1.amazonaws.com"
        );
        assert_eq!(driver.autoscaling.server.1, 443);
        assert!(driver.ec2.https);
        let local = Endpoint::parse("ec2", "http://127.0.0.1:5000").unwrap();
        assert_eq!(local.host, "127.0.0.1:5000");
        assert_eq!(local.server, ("127.0.0.1".to_owned(), 5000));
        assert!(!local.https);
        assert!(Endpoint::parse("ec2", "ftp://x").is_err());
        assert!(Endpoint::parse("ec2", "https://x/path").is_err());
    }

    #[test]
    fn signatures_match_botocores_for_the_same_request() {
        // Expected values from botocore's SigV4Auth over the same request, time and keys.
        let endpoint = Endpoint::parse("autoscaling", "http://127.0.0.1:5000").unwrap();
        let body = b"Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=agents";
        let mut credentials = Credentials {
            access_key: "AKIDEXAMPLE".to_owned(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_owned(),
            session_token: None,
        };
        let at = 1_796_691_723; // 2026-12-08T01:02:03Z
        let signed = sign(&credentials, &endpoint, "eu-west-1", at, body);
        assert_eq!(signed.amz_date, "20261208T010203Z");
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261208/eu-west-1/autoscaling/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=d761734182e21d070173d8a99bf6f8d893130905ab1e1f63ac1dd1a25d8780e1"
        );
        credentials.session_token = Some("session-token-1".to_owned());
        let signed = sign(&credentials, &endpoint, "eu-west-1", at, body);
        assert!(signed.authorization.ends_with(
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, \
             Signature=69dc97440856b2fb04d1386373614b149f604f052b8d9693154e5b103ef4b694"
        ));
    }

    #[test]
    fn groups_are_named_after_their_pools_by_default() {
        let mut config = AwsAsgConfig::new("eu-west-1", 8080);
        let driver = AwsAsgDriver::new("cloud", config.clone()).unwrap();
        assert_eq!(driver.group("agents"), "agents");
        config.group = "prod-{pool}-asg".to_owned();
        let driver = AwsAsgDriver::new("cloud", config).unwrap();
        assert_eq!(driver.group("agents"), "prod-agents-asg");
    }

    #[test]
    fn errors_are_classified_from_the_api_answer() {
        let answer = |code: &str, message: &str| {
            format!(
                "<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">\
                 <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>r</RequestId></ErrorResponse>"
            )
        };
        let error = classify(400, &answer("Throttling", "Rate exceeded"), "x");
        assert!(matches!(error, DriverError::RateLimited { .. }), "{error}");
        let error = classify(
            400,
            &answer(
                "ValidationError",
                "New SetDesiredCapacity value 9 is above max value 4 for the AutoScalingGroup.",
            ),
            "x",
        );
        assert!(matches!(error, DriverError::OutOfCapacity(_)), "{error}");
        let error = classify(400, &answer("AccessDenied", "no"), "x");
        assert!(matches!(error, DriverError::Permanent(_)), "{error}");
        assert!(error.to_string().contains("AccessDenied: no"), "{error}");
        assert!(matches!(
            classify(503, "unavailable", "x"),
            DriverError::Transient(_)
        ));
    }
}
