//! What `tidegate check` and `tidegate run` warn about: settings that are valid and
//! serve, but that most likely do not do what was meant. Unlike errors, warnings
//! name the pool rather than a line of the file, since they come from how several
//! settings combine.

use crate::{Config, DriverKind, PolicyKind, Pool};

impl Config {
    /// One line per setting that is valid but probably not what was meant.
    pub fn warnings(&self) -> Vec<String> {
        let regions = self
            .pools
            .iter()
            .filter(|pool| pool.policy == PolicyKind::RegionAffinity)
            .flat_map(|pool| self.region_warnings(pool));
        let schedules = self.pools.iter().flat_map(schedule_warnings);
        regions.chain(schedules).collect()
    }

    /// A region_affinity pool with backends outside every region, or regions in
    /// its spill order that nothing serves yet.
    fn region_warnings(&self, pool: &Pool) -> Vec<String> {
        let name = &pool.name;
        let driver = pool
            .scaler
            .as_ref()
            .and_then(|scaler| self.driver(&scaler.driver));
        let mut warnings: Vec<String> = pool
            .backends
            .iter()
            .filter(|backend| backend.region.is_none())
            .map(|backend| {
                format!(
                    "pool \"{name}\": backend {} has no region; region_affinity tries \
                     it only after the backends of every region",
                    backend.address
                )
            })
            .collect();
        if let Some(driver) = driver {
            if matches!(driver.kind, DriverKind::Process { .. }) && driver.kind.regions().is_empty()
            {
                warnings.push(format!(
                    "pool \"{name}\": driver \"{}\" launches instances without a region; \
                     region_affinity tries them only after the backends of every region \
                     (set regions = [...] on the driver)",
                    driver.name
                ));
            }
        }
        let launched = driver.map_or(&[][..], |driver| driver.kind.regions());
        for region in &pool.fallback {
            let served = pool
                .backends
                .iter()
                .any(|backend| backend.region.as_deref() == Some(region.as_str()))
                || launched.contains(region);
            if !served {
                warnings.push(format!(
                    "pool \"{name}\": fallback region \"{region}\" has no backend yet; \
                     requests spill past it until backends of that region join"
                ));
            }
        }
        warnings
    }
}

/// Schedule entries without a `duration` whose expression skips minutes
/// (`"0 8 * * MON-FRI"`, `"*/5 * * * *"`, `"@daily"`): each match holds the
/// bounds for one minute, which is rarely what a schedule is for.
fn schedule_warnings(pool: &Pool) -> Vec<String> {
    let Some(scaler) = &pool.scaler else {
        return Vec::new();
    };
    scaler
        .schedule
        .iter()
        .filter(|entry| entry.duration.is_none())
        .filter(|entry| {
            let minute = entry.cron.split_whitespace().next().unwrap_or("*");
            !matches!(minute, "*" | "0-59" | "*/1")
        })
        .map(|entry| {
            format!(
                "pool \"{}\": schedule entry \"{}\" holds its bounds only during the minutes \
                 it matches, a minute at a time; add duration = \"...\" to hold them that long \
                 from each match, or match every minute of the hours meant (e.g. \"* 8-17 * * *\")",
                pool.name, entry.cron
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every key of the configuration reference at once, as documented.
    const REFERENCE: &str = r#"[server]
threads = 1                      # Pingora worker threads
grace_period = "30s"             # drain time on shutdown
log_format = "text"              # text | json

[admin]
address = "127.0.0.1:9901"       # admin API, /metrics, dashboard
token = "${TIDEGATE_ADMIN_TOKEN}" # bearer token; required when address is not loopback

[[listener]]
name = "public"
address = "0.0.0.0:8080"
region = "eu-west"               # optional default region of requests on this listener
tls = { cert = "cert.pem", key = "key.pem" }   # optional; HTTP/2 over ALPN when set

[[route]]
host = "api.example.com"         # optional; exact, or "*.example.com"
path_prefix = "/agents"          # optional, default "/"
pool = "agents"

[pool.agents]
policy = "region_affinity"       # round_robin | weighted | least_conn | peak_ewma | region_affinity
within = "peak_ewma"             # region_affinity only
fallback = ["eu-west", "us-east"]# region_affinity only: spill order
spill_in_flight = 32             # region_affinity only
region_header = "x-tidegate-region"
max_in_flight = 10000
slow_start = "30s"
backends = [
  "127.0.0.1:9001",                                          # plain address
  { address = "127.0.0.1:9002", region = "us-east", weight = 2 },
]
health = { path = "/healthz", interval = "2s", timeout = "500ms", healthy_threshold = 2, unhealthy_threshold = 3 }
outlier = { consecutive_failures = 5, base_ejection = "30s", max_ejection_percent = 50 }
retry = { attempts = 2, budget_percent = 20 }
timeout = { connect = "1s", read = "60s" }

[pool.agents.scaler]
driver = "local"                 # a [driver.NAME] below
min = 2
max = 20
target_in_flight = 8             # per ready instance (concurrency target)
stable_window = "60s"
panic_window = "6s"
panic_threshold = 2.0
scale_down_delay = "5m"          # stabilization: highest recommendation over this window
lead_time = "30s"                # launch-to-ready time the predictive policy looks ahead by
predictive = { enabled = true, seasons = ["1d", "7d"], history = "14d", quantile = 0.9, refit_every = "10m" }
cost = { per_instance_hour = 0.10, budget_per_hour = 5.0 }
schedule = [ { cron = "0 8 * * MON-FRI", min = 6 } ]

[driver.local]
kind = "process"                 # static | process | exec | http | aws_asg | kubernetes
command = ["tidegate", "backend", "--port", "{port}"]
ports = "9100-9199"

[forecast]
device = "auto"                  # auto | cpu | gpu

[simulate]                       # read only by `tidegate simulate`
instance_capacity_rps = 50       # what one ready instance serves
service_time = "200ms"           # in-flight = served rate x service time
tick = "10s"                     # virtual time per control-loop tick
"#;

    #[test]
    fn schedules_that_skip_minutes_warn_unless_they_have_a_duration() {
        let warned = |cron: &str, duration: &str| {
            let text = format!(
                "[[listener]]\naddress = \"127.0.0.1:8080\"\n[pool.p]\nbackends = [\"127.0.0.1:9001\"]\n\
                 [pool.p.scaler]\ndriver = \"s\"\nmax = 4\n\
                 schedule = [{{ cron = \"{cron}\", min = 2{duration} }}]\n\
                 [driver.s]\nkind = \"static\"\n"
            );
            !crate::parse(&text, "t.toml").unwrap().warnings().is_empty()
        };
        for cron in ["0 8 * * MON-FRI", "*/5 * * * *", "0,30 8 * * *", "@daily"] {
            assert!(warned(cron, ""), "{cron}");
            assert!(
                !warned(cron, ", duration = \"1h\""),
                "{cron} with a duration"
            );
        }
        for cron in ["* 8-17 * * MON-FRI", "0-59 * * * *", "*/1 9 * * *"] {
            assert!(!warned(cron, ""), "{cron}");
        }
    }

    #[test]
    fn the_reference_configuration_loads_with_its_region_warnings() {
        let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/certs");
        let lookup = |name: &str| (name == "TIDEGATE_ADMIN_TOKEN").then(|| "secret".to_owned());
        let config = crate::parse_with_env(REFERENCE, "reference.toml", &certs, &lookup)
            .unwrap_or_else(|e| panic!("{e}"));
        let pool = config.pool("agents").unwrap();
        assert_eq!(pool.backends.len(), 2);
        assert_eq!(pool.fallback, ["eu-west", "us-east"]);
        assert_eq!(
            config.warnings(),
            [
                "pool \"agents\": backend 127.0.0.1:9001 has no region; region_affinity tries \
                 it only after the backends of every region",
                "pool \"agents\": driver \"local\" launches instances without a region; \
                 region_affinity tries them only after the backends of every region \
                 (set regions = [...] on the driver)",
                "pool \"agents\": fallback region \"eu-west\" has no backend yet; requests \
                 spill past it until backends of that region join",
                "pool \"agents\": schedule entry \"0 8 * * MON-FRI\" holds its bounds only \
                 during the minutes it matches, a minute at a time; add duration = \"...\" to \
                 hold them that long from each match, or match every minute of the hours meant \
                 (e.g. \"* 8-17 * * *\")",
            ]
        );
    }
}
