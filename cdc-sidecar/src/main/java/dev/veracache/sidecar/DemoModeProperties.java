package dev.veracache.sidecar;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The sidecar's own settings, next to the starter's {@code veracache.cdc.*} ({@code CdcProperties}).
 *
 * @param embeddedStack start an embedded MariaDB and Redis and listen to them (demos, demo jar only); database, redis
 *     and stateDirectory are ignored (the demo state lives in the demo servers' temporary directory)
 * @param demoSchema demo mode only: a SQL file run against the demo database at start, before the mappings are checked
 *     (creates the tables a custom mapping file maps)
 */
@ConfigurationProperties("veracache.cdc")
public record DemoModeProperties(@DefaultValue("false") boolean embeddedStack, Path demoSchema) {}
