// Writes keyed records with Kafka's own Java producer and its default partitioner, as a
// Java application would: args BOOTSTRAP COUNT TOPIC:KIND..., KIND one of string, int,
// long, double (the key serializers ksqlDB's KAFKA key format matches).
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.*;

public class KeyedProducer {
    public static void main(String[] args) throws Exception {
        int count = Integer.parseInt(args[1]);
        for (int a = 2; a < args.length; a++) {
            String[] topicKind = args[a].split(":");
            produce(args[0], topicKind[0], topicKind[1], count);
        }
    }

    static void produce(String bootstrap, String topic, String kind, int count) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("acks", "all");
        props.put("value.serializer", StringSerializer.class.getName());
        props.put("key.serializer", switch (kind) {
            case "string" -> StringSerializer.class.getName();
            case "int" -> IntegerSerializer.class.getName();
            case "long" -> LongSerializer.class.getName();
            case "double" -> DoubleSerializer.class.getName();
            default -> throw new IllegalArgumentException(kind);
        });
        try (KafkaProducer<Object, String> producer = new KafkaProducer<>(props)) {
            java.util.List<java.util.concurrent.Future<?>> sent = new java.util.ArrayList<>();
            for (int i = 0; i < count; i++) {
                Object key = switch (kind) {
                    case "string" -> "user-" + i;
                    case "int" -> i * 7919;
                    case "long" -> (long) i * 1_000_000_007L;
                    default -> i * 0.5;
                };
                sent.add(producer.send(new ProducerRecord<>(topic, key, "{\"N\":" + i + "}")));
            }
            // Every record acknowledged (acks=all), or the exception of the first that was not.
            for (java.util.concurrent.Future<?> f : sent) {
                f.get();
            }
        }
    }
}
