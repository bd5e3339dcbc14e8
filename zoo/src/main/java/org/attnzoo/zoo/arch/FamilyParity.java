package org.attnzoo.zoo.arch;

import java.util.Map;
import java.util.Optional;

/**
 * Which families' builders are checked against the authors' code, and by which parity test. Parity
 * is a property of a family's builder and key map (the tests run it on random weights through the
 * upstream constructors), so a variant without released weights, and therefore without a registry
 * entry, still has a parity status: its family's.
 */
public final class FamilyParity {
    /** Family id to the parity test class (in {@code org.attnzoo.zoo.parity}) that pins it. */
    private static final Map<String, String> TESTS = Map.ofEntries(
            Map.entry("affnet", "AFFNetParityTest"),
            Map.entry("attnet", "AttNetParityTest"),
            Map.entry("biformer", "BiFormerParityTest"),
            Map.entry("byoanet", "ByoaNetParityTest"),
            Map.entry("casvit", "CasVitParityTest"),
            Map.entry("convit", "ConViTParityTest"),
            Map.entry("crossvit", "CrossViTParityTest"),
            Map.entry("cswin", "CSWinParityTest"),
            Map.entry("davit", "DaViTParityTest"),
            Map.entry("dhvt", "DHVTParityTest"),
            Map.entry("dinat", "NatParityTest"),
            Map.entry("eurosat", "EuroSatParityTest"),
            Map.entry("fan", "FanParityTest"),
            Map.entry("ffnet", "FFNetParityTest"),
            Map.entry("hornet", "HorNetParityTest"),
            Map.entry("inline", "InLineParityTest"),
            Map.entry("l2vit", "L2ViTParityTest"),
            Map.entry("lsnet", "LSNetParityTest"),
            Map.entry("nat", "NatParityTest"),
            Map.entry("overlock", "OverLoCKParityTest"),
            Map.entry("ravlt", "RavltParityTest"),
            Map.entry("shvit", "SHViTParityTest"),
            Map.entry("sparsifiner", "SparsifinerParityTest"),
            Map.entry("spartan", "SpaRTANParityTest"),
            Map.entry("transnext", "TransNeXtParityTest"),
            Map.entry("vitrpb", "NatParityTest"),
            Map.entry("volo", "VoloParityTest"));

    private FamilyParity() {
    }

    /** The parity test class's simple name for {@code family}, if the family has one. */
    public static Optional<String> test(String family) {
        return Optional.ofNullable(TESTS.get(family));
    }

    /** {@code verified} when the family has a parity test, else {@code unverified}. */
    public static String status(String family) {
        return TESTS.containsKey(family) ? "verified" : "unverified";
    }
}
