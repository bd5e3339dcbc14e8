package org.attnzoo.zoo.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvTest {

    @Test
    void valuesFlagsAndDurations() {
        Env env = Env.of(Map.of("A", " x ", "BLANK", "  ", "ON", "Yes", "OFF", "0", "BAD", "maybe",
                "T1", "2.5", "T2", "500ms", "T3", "2m", "T4", "30s", "TB", "soon"));
        assertThat(env.get("A")).contains("x");
        assertThat(env.get("BLANK")).isEmpty();
        assertThat(env.get("NOPE")).isEmpty();
        assertThat(env.first("NOPE", "BLANK", "A")).contains("x");
        assertThat(env.flag("ON")).isTrue();
        assertThat(env.flag("OFF")).isFalse();
        assertThat(env.flag("NOPE")).isFalse();
        assertThatThrownBy(() -> env.flag("BAD")).hasMessageContaining("BAD=maybe is not a switch");
        assertThat(env.duration("T1")).contains(Duration.ofMillis(2500));
        assertThat(env.duration("T2")).contains(Duration.ofMillis(500));
        assertThat(env.duration("T3")).contains(Duration.ofMinutes(2));
        assertThat(env.duration("T4")).contains(Duration.ofSeconds(30));
        assertThat(env.duration("NOPE")).isEmpty();
        assertThatThrownBy(() -> env.duration("TB")).hasMessageContaining("TB=soon is not a duration");
        assertThat(env.with("A", null).get("A")).isEmpty();
        assertThat(env.with("Z", "1").flag("Z")).isTrue();
        assertThat(Env.empty().get("PATH")).isEmpty();
    }

    @Test
    void timeoutsFromEnvironment() {
        Downloader d = Downloader.fromEnv(Env.of(Map.of(Env.CONNECT_TIMEOUT_VAR, "3", Env.READ_TIMEOUT_VAR, "1.5")));
        assertThat(d.connectTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(d.readTimeout()).isEqualTo(Duration.ofMillis(1500));
        Downloader defaults = Downloader.fromEnv(Env.empty());
        assertThat(defaults.connectTimeout()).isEqualTo(Duration.ofSeconds(15));
        assertThat(defaults.readTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(defaults.offline()).isFalse();
        assertThat(defaults.mirror()).isEmpty();
        Downloader explicit = Downloader.builder().env(Env.of(Map.of(Env.OFFLINE_VAR, "1", Env.MIRROR_VAR, "/m")))
                .offline(false).mirror("").build();
        assertThat(explicit.offline()).isFalse();
        assertThat(explicit.mirror()).isEmpty();
        assertThat(Downloader.seconds(Duration.ofMillis(1500))).isEqualTo("1.5s");
        assertThat(Downloader.seconds(Duration.ofSeconds(10))).isEqualTo("10s");
    }
}
